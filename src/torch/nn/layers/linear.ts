import { tf } from "../../tf.ts";
import { Module } from "../module.ts";
import { emptyParameter } from "../parameter.ts";
import * as init from "../init.ts";
import { linear } from "../../functional/linear.ts";
import { expectInput, pyBool } from "./_util.ts";

export interface LinearOptions {
  /** Learn an additive bias (default true). */
  bias?: boolean;
}

/**
 * `y = x W^T + b`, weight [out, in], PyTorch's default initialisation: W ~ kaiming-uniform with
 * a = sqrt(5) (i.e. U(-1/sqrt(in), 1/sqrt(in))), b ~ U(-1/sqrt(in), 1/sqrt(in)), drawn in that
 * order from the parameter-initialisation stream.
 */
export class Linear extends Module {
  // Field order is parameter order (and stateDict order): weight, then bias.
  weight: tf.Variable;
  bias: tf.Variable | null;
  readonly inFeatures: number;
  readonly outFeatures: number;

  constructor(inFeatures: number, outFeatures: number, options: LinearOptions = {}) {
    super();
    for (const [name, v] of [
      ["inFeatures", inFeatures],
      ["outFeatures", outFeatures],
    ] as const) {
      if (!Number.isInteger(v) || v < 0) throw new Error(`Linear: ${name} must be a non-negative integer, got ${v}`);
    }
    this.inFeatures = inFeatures;
    this.outFeatures = outFeatures;
    this.weight = emptyParameter([outFeatures, inFeatures]);
    this.bias = (options.bias ?? true) ? emptyParameter([outFeatures]) : null;
    this.resetParameters();
  }

  resetParameters(): void {
    init.kaimingUniform_(this.weight, { a: Math.sqrt(5) });
    if (this.bias) {
      const [fanIn] = init._calculateFanInAndFanOut(this.weight);
      const bound = fanIn > 0 ? 1 / Math.sqrt(fanIn) : 0;
      init.uniform_(this.bias, -bound, bound);
    }
  }

  override forward(x: tf.Tensor): tf.Tensor {
    expectInput(
      x.rank >= 1 && x.shape[x.rank - 1] === this.inFeatures,
      `Linear(in_features=${this.inFeatures})`,
      `[*, ${this.inFeatures}]`,
      x,
    );
    return linear(x, this.weight, this.bias);
  }

  override extraRepr(): string {
    return `in_features=${this.inFeatures}, out_features=${this.outFeatures}, bias=${pyBool(this.bias != null)}`;
  }
}

/** Returns its input unchanged (a placeholder layer, `nn.Identity`). Arguments are ignored. */
export class Identity extends Module {
  constructor(..._args: unknown[]) {
    super();
  }

  override forward(x: tf.Tensor): tf.Tensor {
    return x;
  }
}
