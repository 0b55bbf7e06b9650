/**
 * One training epoch (Lightning's `_TrainingEpochLoop`): the batches, with automatic or manual
 * optimisation, the learning-rate schedulers, step logging, and validation every
 * `valCheckInterval` (run in the middle of the epoch, or after its last batch, before
 * `onTrainEpochEnd`).
 *
 * Gradient accumulation follows Lightning: gradients are zeroed on the first batch of each
 * window of `accumulateGradBatches`, the optimizer steps when a window is complete, and on the
 * last batch of the epoch even when its window is not (the leftover batches still count).
 */
import { withStepScope } from "../../torch/autograd/step_scope.ts";
import { MisconfigurationError } from "../errors.ts";
import { describeValue } from "../utilities/describe.ts";
import { rankZeroWarn } from "../utilities/rank_zero.ts";
import { ResultCollection } from "../trainer/connectors/logger_connector/result.ts";
import { callCallbackHooks, callModuleHook } from "../trainer/call.ts";
import type { TrainerOptions } from "../trainer/options.ts";
import { checkNonNegativeInt } from "../trainer/setup.ts";
import type { Trainer } from "../trainer/trainer.ts";
import { EvaluationLoop } from "./evaluation_loop.ts";
import type { BatchFetcher } from "./fetcher.ts";
import { Loop } from "./loop.ts";
import { AutomaticOptimization } from "./optimization/automatic.ts";
import { ManualOptimization } from "./optimization/manual.ts";
import { BatchProgress, Progress } from "./progress.ts";
import { transferBatch } from "./step.ts";
import { isMaxLimitReached } from "./utilities.ts";

export class TrainingEpochLoop extends Loop {
  readonly batchProgress = new BatchProgress();
  readonly schedulerProgress = Progress.readyCompleted();
  readonly automaticOptimization: AutomaticOptimization;
  readonly manualOptimization: ManualOptimization;
  /** The validation run inside fit (also the sanity check). */
  readonly valLoop: EvaluationLoop;
  readonly results = new ResultCollection(true);
  /** Batches after which the optimizer stepped; the step number loggers see. */
  batchesThatStepped = 0;
  /** Index (in its epoch) of the batch after which validation last ran; -1 if none this epoch. */
  lastValidatedBatch = -1;
  /** Index of the batch whose end-of-step work (`onAdvanceEnd`) last finished; -1 if none this epoch. */
  lastAdvanceEndBatch = -1;
  /** The `maxSteps` flag (-1: no limit); `trainer.maxSteps` is what applies (`fastDevRun` caps it). */
  readonly maxSteps: number;
  readonly minSteps: number | null;
  private warnedUnsizedAccumulation = false;

  constructor(trainer: Trainer, limits: Pick<TrainerOptions, "minSteps" | "maxSteps"> = {}) {
    super(trainer);
    const maxSteps = limits.maxSteps ?? -1;
    if (typeof maxSteps !== "number" || !Number.isInteger(maxSteps) || maxSteps < -1) {
      throw new MisconfigurationError(`\`maxSteps\` must be a non-negative integer or -1 (infinite steps). You passed in ${describeValue(maxSteps)}.`);
    }
    this.maxSteps = maxSteps;
    this.minSteps = limits.minSteps ?? null;
    if (this.minSteps !== null) checkNonNegativeInt(this.minSteps, "minSteps");
    this.automaticOptimization = new AutomaticOptimization(trainer);
    this.manualOptimization = new ManualOptimization(trainer);
    this.valLoop = new EvaluationLoop(trainer, "validate", () => trainer._dataConnector.fitValSource);
    this.valLoop.verbose = false;
  }

  /** Optimizer steps taken (Lightning's `global_step`): automatic steps plus manual ones. */
  get globalStep(): number {
    return this.automaticOptimization.optimProgress.optimizerSteps + this.manualOptimization.optimStepProgress.total.completed;
  }

  /** Index of the current batch in its epoch. */
  get batchIdx(): number {
    return this.batchProgress.current.ready - 1;
  }

  /** Index of the current batch since training started. */
  get totalBatchIdx(): number {
    return this.batchProgress.total.ready - 1;
  }

  get isTrainingDone(): boolean {
    return isMaxLimitReached(this.globalStep, this.trainer.maxSteps) || this.numReadyBatchesReached();
  }

  get done(): boolean {
    if (this.isTrainingDone) return true;
    const trainer = this.trainer;
    if (trainer.shouldStop) {
      const can = trainer.fitLoop.canStopEarly;
      if (!can) {
        rankZeroWarn(
          `Trainer was signaled to stop but the required \`minEpochs=${trainer.fitLoop.minEpochs}\` or \`minSteps=${trainer.minSteps}\` ` +
            "has not been met. Training will continue...",
        );
      }
      return can;
    }
    return false;
  }

  /** Whether the batch just started is the last of the epoch. */
  numReadyBatchesReached(): boolean {
    return this.batchProgress.current.ready === this.trainer.numTrainingBatches || this.batchProgress.isLastBatch;
  }

  /** Whether this batch completes an accumulation window. */
  accumulatedBatchesReached(): boolean {
    return this.batchProgress.current.ready % this.trainer.accumulateGradBatches === 0;
  }

  /** Whether gradients keep accumulating after this batch (no optimizer step). Lightning steps on the epoch's last batch. */
  shouldAccumulate(): boolean {
    return !this.accumulatedBatchesReached() && !this.numReadyBatchesReached();
  }

  /** Whether validation is due in this epoch (`checkValEveryNEpoch`). */
  shouldCheckValEpoch(): boolean {
    const trainer = this.trainer;
    const n = trainer.checkValEveryNEpoch;
    return trainer.enableValidation && (n === null || (trainer.currentEpoch + 1) % n === 0);
  }

  /** Whether validation runs after the current batch (`valCheckInterval`, last batch, early stop). */
  shouldCheckValFx(): boolean {
    if (!this.shouldCheckValEpoch()) return false;
    const trainer = this.trainer;
    const infinite = trainer.valCheckBatch === Infinity;
    const isLast = this.batchProgress.isLastBatch;
    if (isLast && infinite) return true;
    if (trainer.shouldStop && trainer.fitLoop.canStopEarly) return true;
    let isValCheckBatch = isLast;
    if (trainer.limitTrainBatches !== null && Number.isInteger(trainer.limitTrainBatches) && infinite) {
      isValCheckBatch = (this.batchIdx + 1) % trainer.limitTrainBatches === 0;
    } else if (!infinite) {
      const current = trainer.checkValEveryNEpoch === null ? this.totalBatchIdx : this.batchIdx;
      isValCheckBatch = (current + 1) % trainer.valCheckBatch === 0;
    }
    return isValCheckBatch;
  }

  /** Runs the epoch's batches from `fetcher` (which `run` closes). */
  async run(fetcher: BatchFetcher): Promise<void> {
    this.reset();
    try {
      await this.onRunStart(fetcher);
      while (!this.done) {
        const stopped = await this.advance(fetcher);
        if (stopped) break;
        await this.onAdvanceEnd();
      }
    } finally {
      await fetcher.close();
    }
    this.restarting = false;
  }

  private reset(): void {
    if (this.restarting) {
      // A batch counts as done once processed (its optimizer step and scheduler steps are in the
      // checkpoint): a checkpoint written in `onTrainBatchEnd` must not make it run twice.
      for (const t of [this.batchProgress.current, this.batchProgress.total]) t.ready = t.started = t.completed = t.processed;
      this.schedulerProgress.resetOnRestart();
      this.automaticOptimization.optimProgress.resetOnRestart();
      this.manualOptimization.optimStepProgress.resetOnRestart();
    } else {
      this.batchProgress.resetForNextEpoch();
      this.schedulerProgress.resetOnRun();
      this.automaticOptimization.optimProgress.resetForNextEpoch();
      this.manualOptimization.optimStepProgress.resetOnRun();
      this.lastValidatedBatch = -1;
      this.lastAdvanceEndBatch = -1;
    }
  }

  private async onRunStart(fetcher: BatchFetcher): Promise<void> {
    if (!this.restarting) return;
    // Resuming inside an epoch: the loader's generator was set back to the epoch's start, so
    // skipping the batches the saved run had finished reproduces its data order exactly.
    const done = this.batchProgress.current.completed;
    const wasLast = this.batchProgress.isLastBatch;
    for (let i = 0; i < done; i++) {
      const next = await fetcher.next();
      if (next === undefined) break;
    }
    this.batchProgress.isLastBatch = wasLast || (done > 0 && fetcher.done);
    // The saved run stopped between a batch and the end of its step (its validation, plateau
    // schedulers, step count): finish that batch first.
    if (done > 0 && this.lastAdvanceEndBatch !== done - 1) await this.onAdvanceEnd();
  }

  /** One batch. Returns true when the epoch ends early (data exhausted, or `onTrainBatchStart` returned -1). */
  private async advance(fetcher: BatchFetcher): Promise<boolean> {
    const trainer = this.trainer;
    const next = await fetcher.next();
    if (next === undefined) {
      await this.onDataExhausted();
      return true;
    }
    const batchIdx = this.batchIdx + 1;
    this.batchProgress.isLastBatch = fetcher.done;
    const batch = await transferBatch(trainer, next.value, 0);
    this.batchProgress.incrementReady();
    trainer._loggerConnector.onBatchStart(batch);

    let output: Record<string, unknown> = {};
    await callCallbackHooks(trainer, "onTrainBatchStart", [batch, batchIdx]);
    const response = await callModuleHook(trainer, "onTrainBatchStart", [batch, batchIdx]);
    if (response === -1) {
      this.batchProgress.incrementProcessed();
      return true;
    }
    this.batchProgress.incrementStarted();
    const profiler = trainer.profiler;
    if (profiler.records) profiler.start("run_training_batch");
    try {
      output = trainer.lightningModule.automaticOptimization
        ? await this.automaticOptimization.run(batchIdx, batch)
        : await this.manualOptimization.run(batchIdx, batch);
    } finally {
      if (profiler.records) profiler.stop("run_training_batch");
    }
    this.batchProgress.incrementProcessed();
    await this.results.flush();

    // Non-plateau schedulers: per step, and per epoch once its last batch is done.
    await this.updateLrSchedulers("step", false);
    if (this.numReadyBatchesReached()) await this.updateLrSchedulers("epoch", false);

    await callCallbackHooks(trainer, "onTrainBatchEnd", [output, batch, batchIdx]);
    await callModuleHook(trainer, "onTrainBatchEnd", [output, batch, batchIdx]);
    await this.results.flush();
    trainer._loggerConnector.onBatchEnd();
    this.batchProgress.incrementCompleted();
    trainer._loggerConnector.updateTrainStepMetrics();
    return false;
  }

  private async onAdvanceEnd(): Promise<void> {
    const trainer = this.trainer;
    if (this.lastValidatedBatch !== this.batchIdx && this.shouldCheckValFx()) await this.runValidation();
    // Plateau schedulers stepping per optimizer step read the metrics validation just logged.
    await this.updateLrSchedulers("step", true);
    if (!this.shouldAccumulate()) this.batchesThatStepped++;
    // Loggers flush on the same schedule they receive step metrics.
    if (trainer._loggerConnector.shouldUpdateLogs) for (const logger of trainer.loggers) logger.save();
    this.lastAdvanceEndBatch = this.batchIdx;
  }

  /** An iterable without a length ran dry: its last batch is now known. */
  private async onDataExhausted(): Promise<void> {
    if (this.batchProgress.current.ready === 0) return;
    this.batchProgress.isLastBatch = true;
    const trainer = this.trainer;
    if (trainer.accumulateGradBatches > 1 && !this.accumulatedBatchesReached() && !this.warnedUnsizedAccumulation) {
      this.warnedUnsizedAccumulation = true;
      rankZeroWarn(
        "The train dataloader has no length, so its last batch was only known once the data ran out: the gradients of " +
          "its incomplete last accumulation window were not stepped. Give the dataloader a `length` to step on the last batch.",
      );
    }
    if (this.lastValidatedBatch !== this.batchIdx && this.shouldCheckValFx()) {
      await withStepScope(() => this.runValidation());
    }
    if (trainer.lightningModule.automaticOptimization) await this.updateLrSchedulers("epoch", false);
  }

  private async runValidation(): Promise<void> {
    const trainer = this.trainer;
    const connector = trainer._loggerConnector;
    const first = connector.firstLoopIter;
    // Marked before running: a checkpoint saved by the validation (`onValidationEnd`) must not
    // make a resumed run validate again.
    this.lastValidatedBatch = this.batchIdx;
    trainer.state.stage = "validate";
    try {
      if (!this.shouldAccumulate()) await callModuleHook(trainer, "onValidationModelZeroGrad");
      await this.valLoop.run();
    } finally {
      trainer.state.stage = "train";
      connector.firstLoopIter = first;
    }
  }

  /** Steps the schedulers whose interval is `interval`: the plateau ones or the others (Lightning's `update_lr_schedulers`). */
  async updateLrSchedulers(interval: "step" | "epoch", updatePlateauSchedulers: boolean): Promise<void> {
    if (interval === "step" && this.shouldAccumulate()) return;
    const trainer = this.trainer;
    const configs = trainer.lrSchedulerConfigs;
    if (configs.length === 0 || !trainer.lightningModule.automaticOptimization) return;
    for (const config of configs) {
      if (updatePlateauSchedulers !== config.reduceOnPlateau) continue;
      const currentIdx = (interval === "step" ? this.batchIdx : trainer.currentEpoch) + 1;
      if (config.interval !== interval || currentIdx % config.frequency !== 0) continue;
      let monitorVal: number | null = null;
      if (config.reduceOnPlateau) {
        const key = config.monitor!;
        const v = trainer.callbackMetrics[key];
        if (v === undefined) {
          if (config.strict) {
            throw new MisconfigurationError(
              `ReduceLROnPlateau conditioned on metric ${key} which is not available. Available metrics are: ` +
                `[${Object.keys(trainer.callbackMetrics).map((k) => `'${k}'`).join(", ")}]. Condition can be set using \`monitor\` key in lr scheduler dict`,
            );
          }
          rankZeroWarn(`ReduceLROnPlateau conditioned on metric ${key} which is not available but strict is set to \`false\`. Skipping learning rate update.`);
          continue;
        }
        monitorVal = v;
      }
      this.schedulerProgress.incrementReady();
      await callModuleHook(trainer, "lrSchedulerStep", [config.scheduler, monitorVal]);
      this.schedulerProgress.incrementCompleted();
    }
  }

  override stateDict(): Record<string, unknown> {
    return {
      batchProgress: this.batchProgress.stateDict(),
      schedulerProgress: this.schedulerProgress.stateDict(),
      automaticOptimization: { optimProgress: this.automaticOptimization.optimProgress.stateDict() },
      manualOptimization: { optimStepProgress: this.manualOptimization.optimStepProgress.stateDict() },
      batchesThatStepped: this.batchesThatStepped,
      lastValidatedBatch: this.lastValidatedBatch,
      lastAdvanceEndBatch: this.lastAdvanceEndBatch,
      valLoop: this.valLoop.stateDict(),
    };
  }

  protected override onLoadState(state: Record<string, any>): void {
    this.batchProgress.loadStateDict(state.batchProgress);
    this.schedulerProgress.loadStateDict(state.schedulerProgress);
    this.automaticOptimization.optimProgress.loadStateDict(state.automaticOptimization.optimProgress);
    this.manualOptimization.optimStepProgress.loadStateDict(state.manualOptimization.optimStepProgress);
    this.batchesThatStepped = state.batchesThatStepped ?? 0;
    this.lastValidatedBatch = state.lastValidatedBatch ?? -1;
    this.lastAdvanceEndBatch = state.lastAdvanceEndBatch ?? -1;
    if (state.valLoop) this.valLoop.loadStateDict(state.valLoop);
    this.valLoop.restarting = false;
  }
}
