/**
 * The Trainer's loggers and what reaches them (Lightning's `_LoggerConnector`): it sets up the
 * loggers from the `logger` flag (TensorBoard + CSV by default), and moves what `this.log`
 * recorded to its destinations: the loggers (every `logEveryNSteps` optimizer steps for step
 * values, at each epoch end for epoch values, at the end of each evaluation run),
 * `trainer.callbackMetrics` (what callbacks and plateau schedulers monitor),
 * `trainer.progressBarMetrics` and `trainer.loggedMetrics`.
 */
import { tf } from "../../../../torch/tf.ts";
import { Logger } from "../../../loggers/logger.ts";
import { TensorBoardLogger } from "../../../loggers/tensorboard_logger.ts";
import { CSVLogger } from "../../../loggers/csv_logger.ts";
import { describeValue } from "../../../utilities/describe.ts";
import { rankZeroOnly } from "../../../utilities/rank_zero.ts";
import type { TrainerOptions } from "../../options.ts";
import { checkNonNegativeInt, type TrainerFlags } from "../../setup.ts";
import type { Trainer } from "../../trainer.ts";
import type { MetricsByDestination } from "./result.ts";

export class LoggerConnector {
  private readonly callback: Record<string, number> = {};
  private readonly logged: Record<string, number> = {};
  private readonly pbar: Record<string, number> = {};
  /** true on the first batch of a loop, false after, null once the epoch end is reached (then metrics are epoch values). */
  firstLoopIter: boolean | null = null;

  /** Whether the loggers are the defaults (`logger: true`), which get a CSVLogger beside TensorBoard when a run starts. */
  private defaultLoggers = false;

  constructor(private readonly trainer: Trainer) {}

  /** `logger` and `logEveryNSteps` (Lightning's `_LoggerConnector.on_trainer_init`); no loggers under `fastDevRun`. */
  onTrainerInit(options: TrainerOptions): void {
    const trainer: TrainerFlags<"logEveryNSteps" | "loggers"> = this.trainer;
    trainer.logEveryNSteps = checkNonNegativeInt(options.logEveryNSteps ?? 50, "logEveryNSteps");
    const flag = options.logger ?? true;
    const fastDevRun = this.trainer.fastDevRun !== false;
    this.defaultLoggers = flag === true && !fastDevRun;
    trainer.loggers = fastDevRun ? [] : configureLoggers(flag, this.trainer.defaultRootDir);
  }

  /** Adds the default CSVLogger beside the default TensorBoardLogger (same version folder). */
  completeDefaultLoggers(): void {
    const loggers = this.trainer.loggers;
    if (!this.defaultLoggers || loggers.length !== 1 || !(loggers[0] instanceof TensorBoardLogger)) return;
    const tb = loggers[0];
    const csv = new CSVLogger(tb.saveDir, { name: tb.name, version: tb.version });
    // The CSV writer warns about a non-empty version folder, so it creates the folder first.
    if (rankZeroOnly.isRankZero) void csv.experiment;
    loggers.push(csv);
  }

  /**
   * `this.log(..., { syncDist: true })` in multi-process runs: step values are the mean (or the
   * extreme, or the sum) over the processes, and epoch values are reduced over the
   * processes through the strategy's all-reduce — summed for `sum` and `mean` (a mean as
   * Σ value·batchSize / Σ batchSize), the extreme for `max` and `min`.
   */
  connectResultSync(): void {
    const trainer = this.trainer;
    const strategy = trainer.strategy;
    const sync =
      strategy.worldSize > 1
        ? (value: number, op: "sum" | "mean" | "max" | "min"): number => {
            const reduced = tf.tidy(() => strategy.allReduce(tf.scalar(value), op));
            const n = reduced.dataSync()[0];
            reduced.dispose();
            return n;
          }
        : null;
    const loops = [trainer.fitLoop.epochLoop.results, trainer.fitLoop.epochLoop.valLoop.results, trainer.validateLoop.results, trainer.testLoop.results];
    for (const results of loops) results.sync = sync;
  }

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

function configureLoggers(flag: Logger | Logger[] | boolean | null, defaultRootDir: string): Logger[] {
  if (flag === false || flag === null) return [];
  if (flag === true) {
    // TensorBoard is the default as in Lightning; a CSVLogger joins it in the same version
    // folder (created when a run starts, once TensorBoard's version is known) so that
    // `metrics.csv` is there too.
    return [new TensorBoardLogger(defaultRootDir)];
  }
  const list = Array.isArray(flag) ? flag : [flag];
  list.forEach((l, i) => {
    if (!(l instanceof Logger)) throw new TypeError(`logger[${i}] must be a Logger instance, got ${describeValue(l)}`);
  });
  return [...list];
}
