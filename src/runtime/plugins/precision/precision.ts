import type { tf } from "../../../torch/tf";
import type { Module } from "../../../torch/nn/module";
import type { Optimizer } from "../../../torch/optim/optimizer";
import { backward, type BackwardOptions } from "../../../torch/autograd/backward";

/** The `precision` flag values in their canonical form. */
export type PrecisionName = "32-true" | "16-mixed" | "bf16-mixed" | "16-true" | "bf16-true" | "64-true";

/** Options Lite's `backward` hands down (the core backward's, minus tracing which Lite does itself). */
export type PrecisionBackwardOptions = Omit<BackwardOptions, "trace">;

/**
 * A precision plugin (Fabric's `Precision`): where the numeric format of training is decided.
 * Lite routes every forward through `forwardContext` + `convertInput`/`convertOutput`, every
 * backward through `preBackward` → `backward` → `postBackward`, and every optimizer step
 * through `optimizerStep`, so a mixed-precision plugin can cast activations, scale the loss and
 * skip steps without the training loop changing. The base class is the identity on all of them.
 */
export abstract class Precision {
  abstract readonly name: PrecisionName;

  /** Converts a model's parameters to this precision (at `setup`). */
  convertModule<M extends Module>(module: M): M {
    return module;
  }

  /** Runs `fn` (a forward pass, or the user's `autocast` block) under this precision. */
  forwardContext<T>(fn: () => T): T {
    return fn();
  }

  /** Casts the forward's inputs to the compute dtype. */
  convertInput<T>(data: T): T {
    return data;
  }

  /** Casts the forward's outputs back to float32 for the loss. */
  convertOutput<T>(data: T): T {
    return data;
  }

  /** The loss actually backpropagated (a scaled one for 16-bit training). */
  preBackward(loss: tf.Tensor, _module: Module | null): tf.Tensor {
    return loss;
  }

  /**
   * Backpropagates. The loss trace was already written by Lite (before any scaling, as the
   * trace contract requires), so the core backward must not write it again.
   */
  backward(loss: tf.Tensor, _module: Module | null, options: PrecisionBackwardOptions = {}): void {
    backward(loss, { ...options, trace: false });
  }

  postBackward(_loss: tf.Tensor, _module: Module | null): void {}

  /** One optimizer step (a plugin that scales the loss unscales and may skip it). */
  optimizerStep<T>(optimizer: Optimizer, closure?: () => T): T {
    return optimizer.step(closure);
  }

  /** Brings gradients back to their true scale before clipping reads them. */
  unscaleGradients(_optimizer: Optimizer): void {}

  /** The parameters the optimizer updates (the fp32 masters for mixed precision). */
  mainParams(optimizer: Optimizer): tf.Variable[] {
    return optimizer.paramGroups.flatMap((g) => g.params);
  }

  /** Plugin state for checkpoints (a loss scaler's scale, say). */
  stateDict(): Record<string, unknown> {
    return {};
  }

  loadStateDict(_state: Record<string, unknown>): void {}

  teardown(): void {}
}
