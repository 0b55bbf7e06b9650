/**
 * The closure of automatic optimisation (Lightning's `loops/optimization/automatic.py`
 * `Closure` and `ClosureResult`): training step → zero_grad (first batch of an accumulation
 * window) → backward. `optimizer.step(closure)` runs it, then the update — the same order and
 * the same arithmetic as a plain loop's `zeroGrad(); loss = f(batch); loss.backward(); step()`.
 */
import { tf } from "../../../torch/tf.ts";
import { noGrad } from "../../../torch/autograd/grad_mode.ts";
import { MisconfigurationError } from "../../errors.ts";
import { rankZeroWarn } from "../../utilities/rank_zero.ts";

export class ClosureResult {
  constructor(
    /** The loss to backpropagate (divided by `accumulateGradBatches`), or null to skip. */
    readonly closureLoss: tf.Tensor | null,
    /** The loss `trainingStep` returned, undivided (what the loss trace records). */
    readonly rawLoss: tf.Tensor | null,
    readonly extra: Record<string, unknown>,
  ) {}

  /** Lightning's `ClosureResult.from_training_step_output`. */
  static fromTrainingStepOutput(output: unknown, normalize: number): ClosureResult {
    let loss: tf.Tensor | null = null;
    let extra: Record<string, unknown> = {};
    if (output instanceof tf.Tensor) {
      loss = output;
    } else if (output !== null && output !== undefined && typeof output === "object" && !Array.isArray(output)) {
      const { loss: l, hiddens: _h, ...rest } = output as Record<string, unknown>;
      if (!(l instanceof tf.Tensor)) {
        throw new MisconfigurationError("In automatic optimization, when `trainingStep` returns an object, the 'loss' key needs to be present");
      }
      loss = l;
      extra = rest;
    } else if (output !== null && output !== undefined) {
      throw new MisconfigurationError(
        "In automatic optimization, `trainingStep` must return a Tensor, an object with a 'loss', or nothing (where the step will be skipped).",
      );
    }
    // Lightning divides by the accumulation count before backward; x / 1 is skipped (no extra op).
    const closureLoss = loss !== null && normalize !== 1 ? tf.div(loss, normalize) : loss;
    return new ClosureResult(closureLoss, loss, extra);
  }

  /** `{ loss, ...extra }` for `onTrainBatchEnd`: the loss detached, as Lightning's `loss.detach()`. */
  asDict(): Record<string, unknown> {
    if (this.closureLoss === null) return {};
    const loss = noGrad(() => tf.clone(this.closureLoss!));
    return { loss, ...this.extra };
  }
}

export class Closure {
  private result: ClosureResult | null = null;
  executed = false;
  /** Runs the closure; what `optimizer.step(closure)` calls. Returns the loss. */
  readonly call: () => Promise<tf.Tensor | null>;

  constructor(
    private readonly stepFn: () => Promise<ClosureResult>,
    private readonly backwardFn: ((loss: tf.Tensor, raw: tf.Tensor) => unknown) | null,
    private readonly zeroGradFn: (() => unknown) | null,
  ) {
    // Assigned here rather than as a class-field arrow: a transpiler keeping function names
    // (tsx) would add a `defineProperty` call for it to every batch.
    this.call = () => this.run();
  }

  private async run(): Promise<tf.Tensor | null> {
    this.executed = true;
    const step = await this.stepFn();
    if (step.closureLoss === null) {
      rankZeroWarn(
        "`trainingStep` returned `null`/nothing. If this was on purpose, ignore this warning...",
      );
    }
    if (this.zeroGradFn !== null) await this.zeroGradFn();
    if (this.backwardFn !== null && step.closureLoss !== null) await this.backwardFn(step.closureLoss, step.rawLoss!);
    this.result = step;
    return step.closureLoss;
  }

  consumeResult(): ClosureResult {
    const r = this.result;
    if (r === null) {
      throw new MisconfigurationError(
        "The closure hasn't been executed. HINT: did you call `optimizerClosure()` in your `optimizerStep` hook? It could " +
          "also happen because the `optimizer.step(optimizerClosure)` call did not execute it internally.",
      );
    }
    this.result = null;
    return r;
  }
}
