import { tf } from "../../tf.ts";
import { Module } from "../module.ts";
import { bufferFrom } from "../parameter.ts";
import { crossEntropy, nllLoss } from "../../functional/loss_classification.ts";
import { mseLoss, l1Loss, smoothL1Loss, huberLoss } from "../../functional/loss_regression.ts";
import { binaryCrossEntropy, binaryCrossEntropyWithLogits } from "../../functional/loss_binary.ts";
import { klDiv, type KlDivOptions } from "../../functional/loss_kl.ts";
import type { Reduction } from "../../functional/_util.ts";

/**
 * Loss modules (`criterion = new nn.CrossEntropyLoss(); criterion.forward(out, y)`), thin
 * wrappers over `F`. Class weights are buffers named `weight` / `pos_weight`, as in PyTorch.
 */

/** A copy of a user tensor as a non-trainable variable (a buffer). */
function asBuffer(t: tf.Tensor | null | undefined): tf.Variable | null {
  return t == null ? null : bufferFrom(tf.clone(t));
}

export interface WeightedLossOptions {
  weight?: tf.Tensor | null;
  reduction?: Reduction;
}

export interface CrossEntropyLossOptions extends WeightedLossOptions {
  ignoreIndex?: number;
  labelSmoothing?: number;
}

export class CrossEntropyLoss extends Module {
  weight: tf.Variable | null;
  readonly reduction: Reduction;
  readonly ignoreIndex: number;
  readonly labelSmoothing: number;

  constructor(options: CrossEntropyLossOptions = {}) {
    super();
    this.weight = asBuffer(options.weight);
    if (this.weight) this.registerBuffer("weight", this.weight);
    this.reduction = options.reduction ?? "mean";
    this.ignoreIndex = options.ignoreIndex ?? -100;
    this.labelSmoothing = options.labelSmoothing ?? 0;
  }

  override forward(input: tf.Tensor, target: tf.Tensor): tf.Tensor {
    return crossEntropy(input, target, {
      weight: this.weight,
      reduction: this.reduction,
      ignoreIndex: this.ignoreIndex,
      labelSmoothing: this.labelSmoothing,
    });
  }
}

export interface NLLLossOptions extends WeightedLossOptions {
  ignoreIndex?: number;
}

export class NLLLoss extends Module {
  weight: tf.Variable | null;
  readonly reduction: Reduction;
  readonly ignoreIndex: number;

  constructor(options: NLLLossOptions = {}) {
    super();
    this.weight = asBuffer(options.weight);
    if (this.weight) this.registerBuffer("weight", this.weight);
    this.reduction = options.reduction ?? "mean";
    this.ignoreIndex = options.ignoreIndex ?? -100;
  }

  override forward(input: tf.Tensor, target: tf.Tensor): tf.Tensor {
    return nllLoss(input, target, { weight: this.weight, reduction: this.reduction, ignoreIndex: this.ignoreIndex });
  }
}

export class MSELoss extends Module {
  readonly reduction: Reduction;

  constructor(options: { reduction?: Reduction } = {}) {
    super();
    this.reduction = options.reduction ?? "mean";
  }

  override forward(input: tf.Tensor, target: tf.Tensor): tf.Tensor {
    return mseLoss(input, target, { reduction: this.reduction });
  }
}

export class L1Loss extends Module {
  readonly reduction: Reduction;

  constructor(options: { reduction?: Reduction } = {}) {
    super();
    this.reduction = options.reduction ?? "mean";
  }

  override forward(input: tf.Tensor, target: tf.Tensor): tf.Tensor {
    return l1Loss(input, target, { reduction: this.reduction });
  }
}

export class SmoothL1Loss extends Module {
  readonly reduction: Reduction;
  readonly beta: number;

  constructor(options: { reduction?: Reduction; beta?: number } = {}) {
    super();
    this.reduction = options.reduction ?? "mean";
    this.beta = options.beta ?? 1.0;
  }

  override forward(input: tf.Tensor, target: tf.Tensor): tf.Tensor {
    return smoothL1Loss(input, target, { reduction: this.reduction, beta: this.beta });
  }
}

export class HuberLoss extends Module {
  readonly reduction: Reduction;
  readonly delta: number;

  constructor(options: { reduction?: Reduction; delta?: number } = {}) {
    super();
    this.reduction = options.reduction ?? "mean";
    this.delta = options.delta ?? 1.0;
  }

  override forward(input: tf.Tensor, target: tf.Tensor): tf.Tensor {
    return huberLoss(input, target, { reduction: this.reduction, delta: this.delta });
  }
}

export class BCELoss extends Module {
  weight: tf.Variable | null;
  readonly reduction: Reduction;

  constructor(options: WeightedLossOptions = {}) {
    super();
    this.weight = asBuffer(options.weight);
    if (this.weight) this.registerBuffer("weight", this.weight);
    this.reduction = options.reduction ?? "mean";
  }

  override forward(input: tf.Tensor, target: tf.Tensor): tf.Tensor {
    return binaryCrossEntropy(input, target, { weight: this.weight, reduction: this.reduction });
  }
}

export interface BCEWithLogitsLossOptions extends WeightedLossOptions {
  posWeight?: tf.Tensor | null;
}

export class BCEWithLogitsLoss extends Module {
  weight: tf.Variable | null;
  pos_weight: tf.Variable | null;
  readonly reduction: Reduction;

  constructor(options: BCEWithLogitsLossOptions = {}) {
    super();
    this.weight = asBuffer(options.weight);
    if (this.weight) this.registerBuffer("weight", this.weight);
    this.pos_weight = asBuffer(options.posWeight);
    if (this.pos_weight) this.registerBuffer("pos_weight", this.pos_weight);
    this.reduction = options.reduction ?? "mean";
  }

  get posWeight(): tf.Variable | null {
    return this.pos_weight;
  }

  override forward(input: tf.Tensor, target: tf.Tensor): tf.Tensor {
    return binaryCrossEntropyWithLogits(input, target, {
      weight: this.weight,
      posWeight: this.pos_weight,
      reduction: this.reduction,
    });
  }
}

export class KLDivLoss extends Module {
  readonly reduction: NonNullable<KlDivOptions["reduction"]>;
  readonly logTarget: boolean;

  constructor(options: KlDivOptions = {}) {
    super();
    this.reduction = options.reduction ?? "mean";
    this.logTarget = options.logTarget ?? false;
  }

  override forward(input: tf.Tensor, target: tf.Tensor): tf.Tensor {
    return klDiv(input, target, { reduction: this.reduction, logTarget: this.logTarget });
  }
}
