import { tf } from "../../../torch/tf.ts";
import type { Module } from "../../../torch/nn/module.ts";
import type { Optimizer } from "../../../torch/optim/optimizer.ts";
import { noGrad } from "../../../torch/autograd/grad_mode.ts";
import { roundTensorToHalf, withRounding, type HalfFormat, type RoundingMode } from "../../../torch/amp/index.ts";
import type { MaybePromise } from "../../core/maybe_async.ts";
import { MisconfigurationError } from "../../errors.ts";
import { Precision, type PrecisionBackwardOptions } from "./precision.ts";
import { halfFormatOf, roundFloatTensors } from "./half_formats.ts";

/**
 * `precision: "16-true"` / `"bf16-true"` (Lightning's `HalfPrecision`): the model itself is
 * 16-bit. Parameters and buffers are rounded to the format at setup; every kernel's float output
 * — forward, backward and the optimizer's update, its state included — is rounded, so
 * parameters stay 16-bit values after every step. No loss scaling, as in Lightning.
 */
export class HalfPrecision extends Precision {
  readonly name: "16-true" | "bf16-true";
  private readonly mode: RoundingMode;

  constructor(precision: "16-true" | "bf16-true" = "16-true") {
    super();
    if (precision !== "16-true" && precision !== "bf16-true") {
      throw new MisconfigurationError(`HalfPrecision: precision must be "16-true" or "bf16-true", got ${JSON.stringify(precision)}`);
    }
    this.name = precision;
    this.mode = { format: halfFormatOf(precision), scope: "all" };
  }

  get format(): HalfFormat {
    return this.mode.format;
  }

  override convertModule<M extends Module>(module: M): M {
    noGrad(() => {
      for (const v of [...module.parameters(), ...module.buffers()]) {
        if (v.dtype !== "float32") continue;
        const rounded = roundTensorToHalf(v, this.mode.format);
        v.assign(rounded);
        rounded.dispose();
      }
    });
    return module;
  }

  override forwardContext<T>(fn: () => T): T {
    return withRounding(this.mode, fn);
  }

  override convertInput<T>(data: T): T {
    return roundFloatTensors(data, this.mode.format);
  }

  override backward(loss: tf.Tensor, module: Module | null, options: PrecisionBackwardOptions = {}): MaybePromise<void> {
    return withRounding(this.mode, () => super.backward(loss, module, options));
  }

  override optimizerStep<T>(optimizer: Optimizer, closure?: () => T): T {
    return withRounding(this.mode, () => super.optimizerStep(optimizer, closure));
  }
}
