import type { tf } from "../../../torch/tf.ts";
import type { Module } from "../../../torch/nn/module.ts";
import type { Optimizer } from "../../../torch/optim/optimizer.ts";
import { backward, type BackwardOptions } from "../../../torch/autograd/backward.ts";
import { LightningModule, moduleInternals } from "../../core/module.ts";
import { withFinally, type MaybePromise } from "../../core/maybe_async.ts";

/** The `precision` flag values in their canonical form. */
export type PrecisionName = "32-true" | "16-mixed" | "bf16-mixed" | "16-true" | "bf16-true" | "64-true";

/** Options Lite's `backward` hands down (the core backward's, minus tracing which Lite does itself). */
export type PrecisionBackwardOptions = Omit<BackwardOptions, "trace">;

/**
 * A precision plugin (Fabric's and Lightning's `Precision`): where the numeric format of
 * training is decided. Lite and the Trainer route every forward through `forwardContext` +
 * `convertInput`/`convertOutput`, every backward through `preBackward` → `backward` →
 * `postBackward`, and every optimizer step through `optimizerStep`, so a mixed-precision plugin
 * can cast activations, scale the loss and skip steps without the training loop changing. The
 * base class is the identity on all of them.
 *
 * Async functions: the Trainer's training step and its automatic-optimisation closure are
 * async (every hook may be), so `forwardContext(fn)` and `optimizerStep(optimizer, closure)`
 * may be handed a function that returns a promise. They return what the function returns (the
 * promise) and the caller awaits it. A plugin that sets up a context around `fn` (an autocast
 * flag, a loss-scaler check after the closure) must keep it until that promise settles — chain
 * on it (`chain` / `withFinally` in core/maybe_async.ts) rather than undo the context when
 * `fn` returns. `tf.tidy` cannot wrap an async function: do not use it around `fn`.
 */
export abstract class Precision {
  abstract readonly name: PrecisionName;

  /** Converts a model's parameters to this precision (at `setup`). */
  convertModule<M extends Module>(module: M): M {
    return module;
  }

  /** Runs `fn` (a forward pass, a training step, or the user's `autocast` block; possibly async) under this precision. */
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
   * Backpropagates. Under a Trainer, through the LightningModule's `backward` hook, as
   * Lightning's precision plugin calls `model.backward(tensor)`: a user override of
   * `backward(loss)` (possibly async) runs here, between `preBackward` and `postBackward`. Lite
   * (Fabric) backpropagates the tensor itself, hooks or not — a LightningModule set up in Lite
   * has no Trainer attached. The loss trace was already written by the caller (before any
   * scaling, as the trace contract requires), so the core backward must not write it again.
   */
  backward(loss: tf.Tensor, module: Module | null, options: PrecisionBackwardOptions = {}): MaybePromise<void> {
    if (module instanceof LightningModule && module.hasTrainer) {
      // Marked as the running hook, as the Trainer's hook calls are (`this.log` is refused there).
      const internals = moduleInternals(module);
      const prev = internals.currentFxName;
      internals.currentFxName = "backward";
      return withFinally(
        () => module.backward(loss, options),
        () => {
          internals.currentFxName = prev;
        },
      );
    }
    backward(loss, { ...options, trace: false });
  }

  postBackward(_loss: tf.Tensor, _module: Module | null): void {}

  /**
   * One optimizer step (a plugin that scales the loss unscales and may skip it). `closure` may
   * be async: `optimizer.step` then awaits it before the update and returns its promise.
   */
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
