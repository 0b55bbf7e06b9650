import type { tf } from "../../../torch/tf.ts";
import type { Module } from "../../../torch/nn/module.ts";
import type { Optimizer } from "../../../torch/optim/optimizer.ts";
import { LBFGS } from "../../../torch/optim/lbfgs.ts";
import { GradScaler, withRounding, type HalfFormat, type RoundingMode } from "../../../torch/amp/index.ts";
import { chain, type MaybePromise } from "../../core/maybe_async.ts";
import { MisconfigurationError } from "../../errors.ts";
import { Precision, type PrecisionBackwardOptions } from "./precision.ts";
import { halfFormatOf } from "./half_formats.ts";

/**
 * `precision: "16-mixed"` / `"bf16-mixed"` (Lightning's and Fabric's `MixedPrecision`):
 * float32 master weights; the forward (Lite's wrapped forward and `autocast`, the Trainer's
 * steps) runs under autocast, so products and convolutions compute in 16 bits and the rest in
 * float32, and the backward through them is 16-bit too (torch/amp/kernel_rounding.ts). Inputs
 * are not cast: the 16-bit ops round what they take, and the rest (a loss against float
 * targets) sees them as they are, as under PyTorch's autocast — the same in Lite and the Trainer.
 *
 * `16-mixed` scales the loss with a GradScaler (PyTorch's defaults): scaled before backward,
 * unscaled before `onBeforeOptimizerStep` and clipping, the step skipped and the scale backed
 * off when a gradient is inf or NaN. `bf16-mixed` has float32's range and needs no scaler.
 */
export class MixedPrecision extends Precision {
  readonly name: "16-mixed" | "bf16-mixed";
  readonly scaler: GradScaler | null;
  private readonly mode: RoundingMode;

  constructor(precision: "16-mixed" | "bf16-mixed" = "16-mixed", scaler?: GradScaler | null) {
    super();
    if (precision !== "16-mixed" && precision !== "bf16-mixed") {
      throw new MisconfigurationError(`MixedPrecision: precision must be "16-mixed" or "bf16-mixed", got ${JSON.stringify(precision)}`);
    }
    if (precision === "bf16-mixed" && scaler) {
      throw new MisconfigurationError("MixedPrecision: a GradScaler is for 16-mixed; bf16-mixed has float32's range and scales nothing");
    }
    this.name = precision;
    this.scaler = precision === "16-mixed" ? (scaler ?? new GradScaler()) : null;
    this.mode = { format: halfFormatOf(precision), scope: "autocast" };
  }

  get format(): HalfFormat {
    return this.mode.format;
  }

  override forwardContext<T>(fn: () => T): T {
    return withRounding(this.mode, fn);
  }

  override preBackward(loss: tf.Tensor, _module: Module | null): tf.Tensor {
    return this.scaler ? this.scaler.scale(loss) : loss;
  }

  override backward(loss: tf.Tensor, module: Module | null, options: PrecisionBackwardOptions = {}): MaybePromise<void> {
    // The gradients of the 16-bit ops are 16-bit: the backward runs under the same rounding.
    return withRounding(this.mode, () => super.backward(loss, module, options));
  }

  override optimizerStep<T>(optimizer: Optimizer, closure?: () => T): T {
    const scaler = this.scaler;
    if (scaler === null) return super.optimizerStep(optimizer, closure);
    if (optimizer instanceof LBFGS) {
      throw new MisconfigurationError("Native AMP and the LBFGS optimizer are not compatible (16-mixed); use bf16-mixed or 32-true");
    }
    const result = closure ? closure() : undefined;
    return chain(result as MaybePromise<unknown>, (out) => {
      // The Trainer's closure gives null when trainingStep returned nothing: no backward, no step.
      if (out === null) return out;
      if (!scaler.isUnscaled(optimizer)) scaler.unscale(optimizer);
      scaler.step(optimizer);
      scaler.update();
      return out;
    }) as T;
  }

  override unscaleGradients(optimizer: Optimizer): void {
    if (this.scaler && !this.scaler.isUnscaled(optimizer)) this.scaler.unscale(optimizer);
  }

  override stateDict(): Record<string, unknown> {
    return this.scaler ? { ...this.scaler.stateDict() } : {};
  }

  override loadStateDict(state: Record<string, unknown>): void {
    if (this.scaler && Object.keys(state).length > 0) this.scaler.loadStateDict(state);
  }
}
