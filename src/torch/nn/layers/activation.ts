import { tf } from "../../tf.ts";
import { Module } from "../module.ts";
import * as A from "../../functional/activation.ts";

/**
 * Activation layers: stateless modules around the functional forms. PyTorch's `inplace`
 * argument is accepted wherever PyTorch has it, positionally or as `{ inplace }`, and kept as
 * `inplace` (shown by `toString()` as PyTorch shows it), but changes nothing: tfjs tensors are
 * immutable and has no in-place kernels, so every activation returns a new tensor. Scripts that
 * rely on the input being overwritten are rare (in-place activations exist to save memory).
 */

export type InplaceArg = boolean | { inplace?: boolean };

function readInplace(arg: InplaceArg | undefined): boolean {
  return typeof arg === "boolean" ? arg : (arg?.inplace ?? false);
}

function inplaceRepr(inplace: boolean, sep = ", "): string {
  return inplace ? `${sep}inplace=True` : "";
}

export class ReLU extends Module {
  /** Accepted and ignored (see above). */
  readonly inplace: boolean;

  constructor(inplace?: InplaceArg) {
    super();
    this.inplace = readInplace(inplace);
  }

  override extraRepr(): string {
    return inplaceRepr(this.inplace, "");
  }

  override forward(x: tf.Tensor): tf.Tensor {
    return A.relu(x);
  }
}

export class ReLU6 extends Module {
  /** Accepted and ignored (see above). */
  readonly inplace: boolean;

  constructor(inplace?: InplaceArg) {
    super();
    this.inplace = readInplace(inplace);
  }

  override extraRepr(): string {
    return inplaceRepr(this.inplace, "");
  }

  override forward(x: tf.Tensor): tf.Tensor {
    return A.relu6(x);
  }
}

export class LeakyReLU extends Module {
  readonly negativeSlope: number;
  /** Accepted and ignored (see above). */
  readonly inplace: boolean;

  /** `new nn.LeakyReLU(0.2, { inplace: true })`, `(0.2, true)` or `({ negativeSlope: 0.2, inplace: true })`. */
  constructor(negativeSlope: number | { negativeSlope?: number; inplace?: boolean } = 0.01, inplace?: InplaceArg) {
    super();
    this.negativeSlope = typeof negativeSlope === "number" ? negativeSlope : (negativeSlope.negativeSlope ?? 0.01);
    this.inplace = readInplace(inplace) || (typeof negativeSlope === "object" && readInplace(negativeSlope));
  }

  override forward(x: tf.Tensor): tf.Tensor {
    return A.leakyRelu(x, this.negativeSlope);
  }

  override extraRepr(): string {
    return `negative_slope=${this.negativeSlope}${inplaceRepr(this.inplace)}`;
  }
}

export class ELU extends Module {
  readonly alpha: number;
  /** Accepted and ignored (see above). */
  readonly inplace: boolean;

  /** `new nn.ELU(1.0, { inplace: true })`, `(1.0, true)` or `({ alpha, inplace })`. */
  constructor(alpha: number | { alpha?: number; inplace?: boolean } = 1.0, inplace?: InplaceArg) {
    super();
    this.alpha = typeof alpha === "number" ? alpha : (alpha.alpha ?? 1.0);
    this.inplace = readInplace(inplace) || (typeof alpha === "object" && readInplace(alpha));
  }

  override forward(x: tf.Tensor): tf.Tensor {
    return A.elu(x, this.alpha);
  }

  override extraRepr(): string {
    return `alpha=${this.alpha}${inplaceRepr(this.inplace)}`;
  }
}

export class SELU extends Module {
  /** Accepted and ignored (see above). */
  readonly inplace: boolean;

  constructor(inplace?: InplaceArg) {
    super();
    this.inplace = readInplace(inplace);
  }

  override extraRepr(): string {
    return inplaceRepr(this.inplace, "");
  }

  override forward(x: tf.Tensor): tf.Tensor {
    return A.selu(x);
  }
}

/** `nn.GELU({ approximate: "none" | "tanh" })`, exact erf form by default. */
export class GELU extends Module {
  readonly approximate: "none" | "tanh";

  constructor(options: A.GeluOptions = {}) {
    super();
    this.approximate = options.approximate ?? "none";
  }

  override forward(x: tf.Tensor): tf.Tensor {
    return A.gelu(x, { approximate: this.approximate });
  }

  override extraRepr(): string {
    return `approximate='${this.approximate}'`;
  }
}

export class SiLU extends Module {
  /** Accepted and ignored (see above). */
  readonly inplace: boolean;

  constructor(inplace?: InplaceArg) {
    super();
    this.inplace = readInplace(inplace);
  }

  override extraRepr(): string {
    return inplaceRepr(this.inplace, "");
  }

  override forward(x: tf.Tensor): tf.Tensor {
    return A.silu(x);
  }
}

export class Sigmoid extends Module {
  override forward(x: tf.Tensor): tf.Tensor {
    return A.sigmoid(x);
  }
}

export class Tanh extends Module {
  override forward(x: tf.Tensor): tf.Tensor {
    return A.tanh(x);
  }
}

export class Softplus extends Module {
  readonly beta: number;
  readonly threshold: number;

  constructor(options: A.SoftplusOptions = {}) {
    super();
    this.beta = options.beta ?? 1;
    this.threshold = options.threshold ?? 20;
  }

  override forward(x: tf.Tensor): tf.Tensor {
    return A.softplus(x, { beta: this.beta, threshold: this.threshold });
  }

  override extraRepr(): string {
    return `beta=${this.beta}, threshold=${this.threshold}`;
  }
}

/** `nn.Softmax(dim)`; the dim is required (PyTorch's implicit dim is deprecated). */
export class Softmax extends Module {
  readonly dim: number;

  constructor(dim: number) {
    super();
    if (dim === undefined || dim === null)
      throw new Error("Softmax: pass the dimension to normalise over, e.g. new nn.Softmax(1)");
    this.dim = dim;
  }

  override forward(x: tf.Tensor): tf.Tensor {
    return A.softmax(x, this.dim);
  }

  override extraRepr(): string {
    return `dim=${this.dim}`;
  }
}

/** `nn.LogSoftmax(dim)`; the dim is required. */
export class LogSoftmax extends Module {
  readonly dim: number;

  constructor(dim: number) {
    super();
    if (dim === undefined || dim === null)
      throw new Error("LogSoftmax: pass the dimension to normalise over, e.g. new nn.LogSoftmax(1)");
    this.dim = dim;
  }

  override forward(x: tf.Tensor): tf.Tensor {
    return A.logSoftmax(x, this.dim);
  }

  override extraRepr(): string {
    return `dim=${this.dim}`;
  }
}
