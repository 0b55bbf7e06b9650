/**
 * Manual optimisation (Lightning's `_ManualOptimization`): the training step does everything
 * itself (`this.optimizers()`, `this.manualBackward(loss)`, `opt.step()`, `opt.zeroGrad()`);
 * the loop counts the optimizer steps it takes (each one is a global step, so a GAN's two
 * optimizers advance `globalStep` by 2 per batch, as in Lightning) and returns its output.
 */
import { tf } from "../../../torch/tf.ts";
import { noGrad } from "../../../torch/autograd/grad_mode.ts";
import { MisconfigurationError } from "../../errors.ts";
import type { Trainer } from "../../trainer/trainer.ts";
import { Progress } from "../progress.ts";
import { strategyStep } from "../step.ts";

export class ManualOptimization {
  /** Steps of any optimizer (ready = started, completed = finished). */
  readonly optimStepProgress = Progress.readyCompleted();

  constructor(private readonly trainer: Trainer) {}

  async run(batchIdx: number, batch: unknown): Promise<Record<string, unknown>> {
    const trainer = this.trainer;
    const profiler = trainer.profiler;
    for (const lo of trainer._lightningOptimizers) {
      lo.onBeforeStep = () => {
        this.optimStepProgress.incrementReady();
        profiler.start("optimizer_step");
      };
      lo.onAfterStep = () => {
        profiler.stop("optimizer_step");
        this.optimStepProgress.incrementCompleted();
      };
    }
    try {
      const output = await strategyStep(trainer, "trainingStep", [batch, batchIdx]);
      // Steps started with an async closure or hook may still be running.
      for (const lo of trainer._lightningOptimizers) await lo.settle();
      return manualResult(output);
    } finally {
      for (const lo of trainer._lightningOptimizers) {
        lo.onBeforeStep = noop;
        lo.onAfterStep = noop;
      }
    }
  }
}

function noop(): void {}

/** Lightning's `ManualResult.from_training_step_output`: the output as a dict, its loss detached. */
function manualResult(output: unknown): Record<string, unknown> {
  let extra: Record<string, unknown> = {};
  if (output instanceof tf.Tensor) extra = { loss: output };
  else if (output !== null && output !== undefined && typeof output === "object" && !Array.isArray(output)) extra = { ...(output as object) };
  else if (output !== null && output !== undefined) {
    throw new MisconfigurationError("In manual optimization, `trainingStep` must either return a Tensor, an object, or have no return.");
  }
  if (extra.loss instanceof tf.Tensor) {
    const loss = extra.loss;
    extra.loss = noGrad(() => tf.clone(loss));
  }
  return extra;
}
