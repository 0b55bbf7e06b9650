/**
 * Moves what `this.log` recorded to its destinations (Lightning's `_LoggerConnector`): the
 * loggers (every `logEveryNSteps` optimizer steps for step values, at each epoch end for epoch
 * values, at the end of each evaluation run), `trainer.callbackMetrics` (what callbacks and
 * plateau schedulers monitor), `trainer.progressBarMetrics` and `trainer.loggedMetrics`.
 */
import type { Trainer } from "../../trainer";
import type { MetricsByDestination } from "./result";

export class LoggerConnector {
  private readonly callback: Record<string, number> = {};
  private readonly logged: Record<string, number> = {};
  private readonly pbar: Record<string, number> = {};
  /** true on the first batch of a loop, false after, null once the epoch end is reached (then metrics are epoch values). */
  firstLoopIter: boolean | null = null;

  constructor(private readonly trainer: Trainer) {}

  /** Whether step metrics go to the loggers after this batch (`logEveryNSteps`, or a stop was requested). */
  get shouldUpdateLogs(): boolean {
    const n = this.trainer.logEveryNSteps;
    // `+ 1`: checked before the step counter moves, as in Lightning.
    const step = this.trainer.fitLoop.epochLoop.batchesThatStepped + 1;
    return (n > 0 && step % n === 0) || this.trainer.shouldStop;
  }

  /** Sends `metrics` to every logger at `step` (default: the number of optimizer steps taken, with `epoch` added). */
  logMetrics(metrics: Record<string, number>, step?: number): void {
    const loggers = this.trainer.loggers;
    if (loggers.length === 0 || Object.keys(metrics).length === 0) return;
    const scalars: Record<string, number> = { ...metrics };
    if (step === undefined && "step" in scalars) {
      step = scalars.step;
      delete scalars.step;
    }
    Object.assign(this.logged, scalars);
    if (step === undefined) {
      if (!("epoch" in scalars)) scalars.epoch = this.trainer.currentEpoch;
      step = this.trainer.fitLoop.epochLoop.batchesThatStepped;
    }
    for (const logger of loggers) {
      logger.logMetrics(scalars, step);
      logger.save();
    }
  }

  /** The active loop's metrics: step values inside an epoch, epoch values at its end. */
  get metrics(): MetricsByDestination {
    const results = this.trainer._results;
    if (results === null) return { callback: {}, log: {}, pbar: {} };
    return results.metrics(this.firstLoopIter !== null);
  }

  onBatchStart(batch: unknown, dataloaderIdx: number | null = null): void {
    this.firstLoopIter = this.firstLoopIter === null;
    const results = this.trainer._results;
    if (results === null) return;
    results.batch = batch;
    results.dataloaderIdx = dataloaderIdx;
    results.resetStepValues();
  }

  onBatchEnd(): void {
    const m = this.metrics;
    Object.assign(this.pbar, m.pbar);
    Object.assign(this.callback, m.callback);
    Object.assign(this.logged, m.log);
    const results = this.trainer._results;
    if (results !== null) results.batch = undefined;
  }

  epochEndReached(): void {
    this.firstLoopIter = null;
    const results = this.trainer._results;
    if (results !== null) results.dataloaderIdx = null;
  }

  onEpochEnd(): void {
    const m = this.metrics;
    Object.assign(this.pbar, m.pbar);
    Object.assign(this.callback, m.callback);
    Object.assign(this.logged, m.log);
  }

  /** After a training batch: step values to the loggers every `logEveryNSteps` optimizer steps. */
  updateTrainStepMetrics(): void {
    const fitLoop = this.trainer.fitLoop;
    // No logging while gradients accumulate: the step has not happened yet.
    if (fitLoop.epochLoop.shouldAccumulate() && this.trainer.lightningModule.automaticOptimization) return;
    if (this.shouldUpdateLogs || this.trainer.fastDevRun !== false) this.logMetrics(this.metrics.log);
  }

  /** At the end of a training epoch: epoch values to the loggers, then a fresh result collection. */
  updateTrainEpochMetrics(): void {
    this.logMetrics(this.metrics.log);
    this.resetResults();
  }

  /** After an evaluation batch: its step values (if any were logged with `onStep`) to the loggers. */
  updateEvalStepMetrics(step: number): void {
    if (this.trainer.sanityChecking) return;
    this.logMetrics(this.metrics.log, step);
  }

  /** At the end of one evaluation dataloader: its epoch values, returned for `validate`/`test`'s result. */
  updateEvalEpochMetrics(): Record<string, number> {
    if (this.trainer.sanityChecking) return {};
    const m = this.metrics;
    Object.assign(this.pbar, m.pbar);
    Object.assign(this.callback, m.callback);
    Object.assign(this.logged, m.log);
    return m.log;
  }

  /** At the end of an evaluation run: everything it logged, as one logger call (at the current training step). */
  logEvalEndMetrics(metrics: Record<string, number>): void {
    if (this.trainer.sanityChecking) return;
    this.logMetrics(metrics);
  }

  resetResults(): void {
    this.trainer._results?.reset();
    this.firstLoopIter = null;
  }

  resetMetrics(): void {
    for (const d of [this.callback, this.logged, this.pbar]) for (const k of Object.keys(d)) delete d[k];
  }

  /** `trainer.callbackMetrics`: includes what was logged since the last batch or epoch end. */
  get callbackMetrics(): Record<string, number> {
    if (this.trainer._results !== null) Object.assign(this.callback, this.metrics.callback);
    return this.callback;
  }

  get loggedMetrics(): Record<string, number> {
    return this.logged;
  }

  get progressBarMetrics(): Record<string, number> {
    if (this.trainer._results !== null) Object.assign(this.pbar, this.metrics.pbar);
    return this.pbar;
  }
}
