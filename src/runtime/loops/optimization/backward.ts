/**
 * The Trainer's backward (automatic and manual optimisation): the backward hooks around the
 * strategy's backward, and the loss trace.
 *
 * Loss trace (SPEC §6): the loss is written once per backward, before any loss scaling or
 * accumulation division — automatic optimisation passes the loss `trainingStep` returned, not
 * the one divided by `accumulateGradBatches`. The precision plugin's backward never writes it.
 */
import { tf } from "../../../torch/tf.ts";
import { traceLoss } from "../../../torch/autograd/loss_trace.ts";
import { getGrad } from "../../../torch/autograd/grad_store.ts";
import type { BackwardOptions } from "../../../torch/autograd/backward.ts";
import type { LightningModule } from "../../core/module.ts";
import { sequence, type MaybePromise } from "../../core/maybe_async.ts";
import { callCallbackHooks, callModuleHook } from "../../trainer/call.ts";
import type { Trainer } from "../../trainer/trainer.ts";

export function runBackward(
  trainer: Trainer,
  loss: tf.Tensor,
  traced: tf.Tensor,
  options: Omit<BackwardOptions, "trace"> = {},
): MaybePromise<void> {
  const module = trainer.lightningModule;
  return sequence([
    () => callCallbackHooks(trainer, "onBeforeBackward", [loss]),
    () => callModuleHook(trainer, "onBeforeBackward", [loss]),
    () => {
      if (trainer.detectAnomaly) checkFiniteLoss(trainer, traced);
      traceLoss(traced);
      return strategyBackward(trainer, module, loss, options);
    },
    () => {
      if (trainer.detectAnomaly) checkFiniteGradients(trainer, module);
    },
    () => callCallbackHooks(trainer, "onAfterBackward"),
    () => callModuleHook(trainer, "onAfterBackward"),
  ]);
}

/**
 * Backpropagates through the strategy (Lightning's `strategy.backward`): the precision plugin's
 * pre-backward, the module's `backward` hook (a user override included, sync or async), its
 * post-backward — so whatever a strategy adds around backward also runs for a user `backward`.
 */
function strategyBackward(
  trainer: Trainer,
  module: LightningModule,
  loss: tf.Tensor,
  options: Omit<BackwardOptions, "trace">,
): MaybePromise<void> {
  const strategy = trainer.strategy;
  const profiler = trainer.profiler;
  if (!profiler.records) return strategy.backward(loss, module, options);
  return profiler.profile(`[Strategy]${strategy.constructor.name}.backward`, () => strategy.backward(loss, module, options));
}

function where(trainer: Trainer): string {
  const loop = trainer.fitLoop.epochLoop;
  return `epoch ${trainer.currentEpoch}, global step ${trainer.globalStep} (batch ${Math.max(loop.batchIdx, 0)} of the epoch)`;
}

/** `detectAnomaly`: a NaN or infinite loss stops training, saying where. */
function checkFiniteLoss(trainer: Trainer, loss: tf.Tensor): void {
  const v = loss.dataSync()[0];
  if (!Number.isFinite(v)) {
    throw new Error(
      `detectAnomaly: the training loss is ${v} at ${where(trainer)}. Training stopped at the first non-finite loss ` +
        "(Trainer({ detectAnomaly: true })); check the learning rate, the inputs of this batch and the loss function.",
    );
  }
}

/** `detectAnomaly`: a NaN or infinite gradient stops training, naming the parameter. */
function checkFiniteGradients(trainer: Trainer, module: LightningModule): void {
  for (const [name, p] of module.namedParameters()) {
    const g = getGrad(p);
    if (g === null) continue;
    const bad = tf.tidy(() => tf.any(tf.logicalNot(tf.isFinite(g))));
    const isBad = bad.dataSync()[0] !== 0;
    bad.dispose();
    if (isBad) {
      throw new Error(
        `detectAnomaly: the gradient of '${name}' has NaN or infinite values after backward at ${where(trainer)} ` +
          "(Trainer({ detectAnomaly: true })).",
      );
    }
  }
}
