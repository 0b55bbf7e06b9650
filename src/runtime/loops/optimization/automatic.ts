/**
 * Automatic optimisation (Lightning's `_AutomaticOptimization`): per batch, the closure
 * (training step, zero_grad on the first batch of an accumulation window, backward) runs
 * inside `LightningModule.optimizerStep` → `optimizer.step(closure)` → strategy → precision →
 * the optimizer's update; while gradients accumulate the closure runs alone, without a step.
 */
import type { tf } from "../../../torch/tf.ts";
import type { Optimizer } from "../../../torch/optim/optimizer.ts";
import type { LightningOptimizer } from "../../core/optimizer.ts";
import { callCallbackHooks, callModuleHook } from "../../trainer/call.ts";
import type { Trainer } from "../../trainer/trainer.ts";
import { OptimizationProgress } from "../progress.ts";
import { strategyStep } from "../step.ts";
import { runBackward } from "./backward.ts";
import { Closure, ClosureResult } from "./closure.ts";

export class AutomaticOptimization {
  readonly optimProgress = new OptimizationProgress();

  constructor(private readonly trainer: Trainer) {}

  /** Runs one batch; returns `{ loss, ...extra }` (empty when the step returned nothing). */
  async run(batchIdx: number, batch: unknown): Promise<Record<string, unknown>> {
    const trainer = this.trainer;
    const optimizer = trainer.optimizers[0] ?? null;
    const closure = this.makeClosure(batch, batchIdx, optimizer);
    if (optimizer === null) {
      // `configureOptimizers` returned nothing: train steps and backward run, nothing is updated.
      await closure.call();
    } else if (trainer.fitLoop.epochLoop.shouldAccumulate()) {
      // Accumulating: no step, and no gradient synchronisation under DDP until the step.
      await trainer.strategy.noBackwardSync(trainer.lightningModule, true, closure.call);
    } else {
      await this.optimizerStep(batchIdx, closure);
    }
    return closure.consumeResult().asDict();
  }

  // Closures passed inline, not bound to names: this runs every batch, and a transpiler that
  // keeps function names (tsx) adds a `defineProperty` call per named closure.
  private makeClosure(batch: unknown, batchIdx: number, optimizer: Optimizer<any> | null): Closure {
    const trainer = this.trainer;
    const firstOfWindow = batchIdx % trainer.accumulateGradBatches === 0;
    return new Closure(
      async () => ClosureResult.fromTrainingStepOutput(await strategyStep(trainer, "trainingStep", [batch, batchIdx]), trainer.accumulateGradBatches),
      (loss: tf.Tensor, raw: tf.Tensor) => runBackward(trainer, loss, raw),
      optimizer !== null && firstOfWindow ? () => this.zeroGrad(optimizer, batchIdx) : null,
    );
  }

  /** The closure's zero_grad (first batch of an accumulation window). */
  private async zeroGrad(optimizer: Optimizer<any>, batchIdx: number): Promise<void> {
    const trainer = this.trainer;
    const zg = this.optimProgress.optimizer.zeroGrad;
    zg.incrementReady();
    await callCallbackHooks(trainer, "onBeforeZeroGrad", [optimizer]);
    await callModuleHook(trainer, "onBeforeZeroGrad", [optimizer]);
    zg.incrementStarted();
    await callModuleHook(trainer, "optimizerZeroGrad", [trainer.currentEpoch, batchIdx, optimizer]);
    zg.incrementCompleted();
  }

  private async optimizerStep(batchIdx: number, closure: Closure): Promise<void> {
    const trainer = this.trainer;
    const lo: LightningOptimizer = trainer._lightningOptimizers[0];
    const step = this.optimProgress.optimizer.step;
    step.incrementReady();
    await callModuleHook(trainer, "optimizerStep", [trainer.currentEpoch, batchIdx, lo, closure.call]);
    // A user `optimizerStep` may call `optimizer.step(closure)` without returning its promise.
    await lo.settle();
    step.incrementCompleted();
  }
}
