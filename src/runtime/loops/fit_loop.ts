/**
 * The epochs of `trainer.fit` (Lightning's `_FitLoop`): per epoch, the training dataloader is
 * (re)loaded when due, `onTrainEpochStart`, the epoch loop, then the end of the epoch —
 * `onTrainEpochEnd` (where checkpoints are usually saved), plateau schedulers, epoch metrics to
 * the loggers. Stops at `maxEpochs` / `maxSteps`, or when `trainer.shouldStop` is set and
 * `minEpochs` / `minSteps` are met.
 *
 * Resuming: the checkpoint's progress counters say where the saved run was. Saved at the end
 * of an epoch (after its batches, before it completed): the rest of that epoch's end is done —
 * the plateau scheduler step, with the metric values saved in the checkpoint — and training
 * goes on with the next epoch. Saved inside an epoch: that epoch continues at the next batch,
 * in the same data order. With the random generators restored as well, a resumed run computes
 * exactly what the uninterrupted run would have.
 */
import { withStepScope } from "../../torch/autograd/step_scope.ts";
import { setRngState, type getRngState } from "../../torch/random.ts";
import { MisconfigurationError } from "../errors.ts";
import { rankZeroInfo, rankZeroWarn } from "../utilities/rank_zero.ts";
import { callCallbackHooks, callModuleHook } from "../trainer/call.ts";
import type { DataSource } from "../trainer/connectors/data_connector.ts";
import type { TrainerOptions } from "../trainer/options.ts";
import { checkNonNegativeInt } from "../trainer/setup.ts";
import type { Trainer } from "../trainer/trainer.ts";
import { BatchFetcher, batchesOf } from "./fetcher.ts";
import { Loop } from "./loop.ts";
import { Progress } from "./progress.ts";
import { TrainingEpochLoop } from "./training_epoch_loop.ts";
import { isMaxLimitReached, parseLoopLimits, parseNumBatches, setSamplerEpoch } from "./utilities.ts";
import { captureGeneratorStates, restoreGeneratorStates } from "./dataloader_state.ts";

type RngState = ReturnType<typeof getRngState>;

export class FitLoop extends Loop {
  readonly epochProgress = Progress.processed();
  readonly epochLoop: TrainingEpochLoop;
  /** What the `minEpochs` / `maxEpochs` flags resolve to when a fit starts (`parseLoopLimits`). */
  minEpochs = 0;
  maxEpochs = 1000;
  private readonly minEpochsFlag: number | null;
  private readonly maxEpochsFlag: number | null;
  /** The training dataloader (null until requested). */
  trainDataloader: DataSource | null = null;
  /** Batches per epoch after `limitTrainBatches` (Lightning's `max_batches`). */
  maxBatches = 0;
  private lastTrainDlReloadEpoch = -Infinity;
  /** The train loader's generator states at the start of the current epoch (for mid-epoch checkpoints). */
  private trainStatesAtEpochStart: number[][] = [];
  /** Set by a checkpoint restore, applied when the data and the loop are ready. */
  private pendingTrainStates: { atEpochStart: number[][]; now: number[][] } | null = null;
  /** Random streams to restore once training resumes (after `onTrainStart`). */
  pendingRngState: RngState | null = null;
  /** Metrics saved with a checkpoint taken at the end of an epoch (for the plateau scheduler step still due). */
  private pendingMonitorMetrics: Record<string, number> | null = null;
  private restartedMidEpoch = false;

  /** The loop-limit flags are checked here and in the epoch loop, as Lightning's loops do. */
  constructor(trainer: Trainer, limits: Pick<TrainerOptions, "minSteps" | "maxSteps" | "minEpochs" | "maxEpochs"> = {}) {
    super(trainer);
    this.epochLoop = new TrainingEpochLoop(trainer, limits);
    this.maxEpochsFlag = limits.maxEpochs ?? null;
    if (this.maxEpochsFlag !== null) checkNonNegativeInt(this.maxEpochsFlag, "maxEpochs", true);
    this.minEpochsFlag = limits.minEpochs ?? null;
    if (this.minEpochsFlag !== null) checkNonNegativeInt(this.minEpochsFlag, "minEpochs");
  }

  /** Resolves the epoch limits for the fit about to run (Lightning calls `_parse_loop_limits` in `Trainer._run`). */
  setupLimits(): void {
    const trainer = this.trainer;
    const maxEpochs = trainer.fastDevRun !== false ? 1 : this.maxEpochsFlag;
    [this.minEpochs, this.maxEpochs] = parseLoopLimits(trainer.minSteps, trainer.maxSteps, this.minEpochsFlag, maxEpochs);
  }

  /** Training stops early only once `minEpochs` and `minSteps` are reached. */
  get canStopEarly(): boolean {
    const metEpochs = this.minEpochs ? this.epochProgress.current.processed >= this.minEpochs : true;
    const minSteps = this.trainer.minSteps;
    const metSteps = minSteps ? this.epochLoop.globalStep >= minSteps : true;
    return metEpochs && metSteps;
  }

  get skip(): boolean {
    return this.maxBatches === 0;
  }

  get done(): boolean {
    const trainer = this.trainer;
    if (this.maxBatches === 0) {
      rankZeroInfo("`Trainer.fit` stopped: No training batches.", trainer);
      return true;
    }
    if (isMaxLimitReached(this.epochLoop.globalStep, trainer.maxSteps)) {
      rankZeroInfo(`\`Trainer.fit\` stopped: \`maxSteps=${trainer.maxSteps}\` reached.`, trainer);
      return true;
    }
    // `processed` is increased before `onTrainEpochEnd`, where checkpoints are saved.
    if (isMaxLimitReached(this.epochProgress.current.processed, this.maxEpochs)) {
      this.epochProgress.current.completed = this.epochProgress.current.processed;
      rankZeroInfo(`\`Trainer.fit\` stopped: \`maxEpochs=${this.maxEpochs}\` reached.`, trainer);
      return true;
    }
    if (trainer.shouldStop && this.canStopEarly) return true;
    return false;
  }

  private get shouldReloadTrainDl(): boolean {
    const n = this.trainer.reloadDataloadersEveryNEpochs;
    return n > 0 && this.trainer.currentEpoch - this.lastTrainDlReloadEpoch >= n;
  }

  /** Requests the training dataloader (and computes the batches per epoch and the validation interval). */
  async setupData(): Promise<void> {
    if (this.trainDataloader !== null && !this.shouldReloadTrainDl) return;
    const trainer = this.trainer;
    const source = trainer._dataConnector.trainSource;
    if (!source.isDefined()) {
      throw new MisconfigurationError(
        "No `trainDataloader()` method defined. Lightning `Trainer` expects as minimum a `trainingStep()`, `trainDataloader()` and " +
          "`configureOptimizers()` to be defined (or pass `trainDataloaders` to `fit`).",
      );
    }
    const [loader] = await trainer._dataConnector.requestDataloaders(source, "train");
    await trainer.strategy.barrier("train_dataloader()");
    this.trainDataloader = loader;
    this.maxBatches = parseNumBatches("train", batchesOf(loader, Infinity), trainer.limitTrainBatches);
    this.lastTrainDlReloadEpoch = trainer.currentEpoch;

    const vci = trainer.valCheckInterval;
    // An integer above 1 is a number of batches; 1 (the default) and fractions are shares of the epoch.
    if (Number.isInteger(vci) && vci > 1) {
      trainer.valCheckBatch = vci;
      if (vci > this.maxBatches && trainer.checkValEveryNEpoch !== null) {
        throw new MisconfigurationError(
          `\`valCheckInterval\` (${vci}) must be less than or equal to the number of the training batches (${this.maxBatches}). ` +
            "If you want to disable validation set `limitValBatches` to 0. If you want to validate based on the total training " +
            "batches, set `checkValEveryNEpoch: null`.",
        );
      }
    } else if (this.maxBatches === Infinity) {
      if (vci !== 1) {
        throw new MisconfigurationError(
          "When using an iterable without a length for `trainDataloader`, `Trainer({ valCheckInterval })` must be 1.0 " +
            "(the default) or an integer number of batches.",
        );
      }
      trainer.valCheckBatch = Infinity;
    } else {
      trainer.valCheckBatch = Math.max(1, Math.floor(this.maxBatches * vci));
    }
    if (trainer.loggers.length > 0 && this.maxBatches < trainer.logEveryNSteps && trainer.fastDevRun === false) {
      rankZeroWarn(
        `The number of training batches (${this.maxBatches}) is smaller than the logging interval ` +
          `Trainer({ logEveryNSteps: ${trainer.logEveryNSteps} }). Set a lower value for logEveryNSteps if you want to see logs ` +
          "for the training epoch.",
      );
    }
  }

  async run(): Promise<void> {
    await this.setupData();
    if (this.skip) return;
    await this.reset();
    await this.onRunStart();
    while (!this.done) {
      await this.onAdvanceStart();
      await this.advance();
      await this.onAdvanceEnd();
      this.restarting = false;
    }
    this.restarting = false;
    await this.onRunEnd();
  }

  private async reset(): Promise<void> {
    this.restartedMidEpoch = false;
    if (!this.restarting) return;
    const ep = this.epochProgress.current;
    const pending = this.pendingTrainStates;
    this.pendingTrainStates = null;
    if (ep.processed > ep.completed) {
      // Saved during the end of an epoch: finish it. Non-plateau epoch schedulers stepped with
      // the epoch's last batch, before the save; plateau schedulers step after `onTrainEpochEnd`.
      if (pending && this.trainDataloader) restoreGeneratorStates(this.trainDataloader, pending.now, "train dataloader");
      await this.replayPlateauStep();
      ep.completed = ep.processed;
      this.epochProgress.total.completed = Math.max(this.epochProgress.total.completed, this.epochProgress.total.processed);
      ep.ready = ep.started = ep.completed;
      this.epochLoop.restarting = false;
      this.restarting = false;
    } else if (ep.started > ep.completed || ep.ready > ep.completed) {
      // Saved inside an epoch: continue it from the next batch, in the same order.
      if (pending && this.trainDataloader) restoreGeneratorStates(this.trainDataloader, pending.atEpochStart, "train dataloader");
      this.trainStatesAtEpochStart = pending?.atEpochStart ?? [];
      this.restartedMidEpoch = true;
    } else {
      if (pending && this.trainDataloader) restoreGeneratorStates(this.trainDataloader, pending.now, "train dataloader");
      this.epochLoop.restarting = false;
      this.restarting = false;
    }
    this.pendingMonitorMetrics = null;
  }

  /** The plateau scheduler step a checkpoint taken in `onTrainEpochEnd` did not include. */
  private async replayPlateauStep(): Promise<void> {
    const trainer = this.trainer;
    const plateau = trainer.lrSchedulerConfigs.filter((c) => c.reduceOnPlateau && c.interval === "epoch");
    if (plateau.length === 0 || !trainer.lightningModule.automaticOptimization) return;
    const metrics = this.pendingMonitorMetrics ?? {};
    const epoch = this.epochProgress.current.processed - 1;
    for (const config of plateau) {
      if ((epoch + 1) % config.frequency !== 0) continue;
      const v = metrics[config.monitor!];
      if (v === undefined) {
        rankZeroWarn(
          `Resuming at the end of an epoch: the checkpoint has no value of '${config.monitor}', so the ReduceLROnPlateau step of that ` +
            "epoch is skipped.",
        );
        continue;
      }
      await callModuleHook(trainer, "lrSchedulerStep", [config.scheduler, v]);
    }
  }

  private async onRunStart(): Promise<void> {
    const trainer = this.trainer;
    trainer._loggerConnector.resetResults();
    // Load the validation dataloaders now if the sanity check did not (for the progress bar).
    if (this.epochLoop.shouldCheckValEpoch() && this.epochLoop.valLoop.dataloaders === null) {
      trainer.state.stage = "validate";
      try {
        await this.epochLoop.valLoop.setupData();
      } finally {
        trainer.state.stage = "train";
      }
    }
    await withStepScope(async () => {
      await callCallbackHooks(trainer, "onTrainStart");
      await callModuleHook(trainer, "onTrainStart");
    });
    if (this.pendingRngState !== null) {
      // The random streams as they were when the checkpoint was taken: dropout masks (and any
      // other random op) continue the saved run's sequence.
      setRngState(this.pendingRngState);
      this.pendingRngState = null;
    }
  }

  private async onAdvanceStart(): Promise<void> {
    const trainer = this.trainer;
    await this.setupData();
    setSamplerEpoch(this.trainDataloader!, this.epochProgress.current.processed);
    if (this.restartedMidEpoch) return;
    this.epochProgress.incrementReady();
    this.trainStatesAtEpochStart = captureGeneratorStates(this.trainDataloader!);
    await withStepScope(async () => {
      await callCallbackHooks(trainer, "onTrainEpochStart");
      await callModuleHook(trainer, "onTrainEpochStart");
    });
    this.epochProgress.incrementStarted();
  }

  private async advance(): Promise<void> {
    const trainer = this.trainer;
    const fetcher = new BatchFetcher(this.trainDataloader!, this.maxBatches, trainer.profiler, "[_TrainingEpochLoop].train_dataloader_next");
    const profiler = trainer.profiler;
    if (profiler.records) profiler.start("run_training_epoch");
    try {
      await this.epochLoop.run(fetcher);
    } finally {
      if (profiler.records) profiler.stop("run_training_epoch");
    }
    this.restartedMidEpoch = false;
  }

  private async onAdvanceEnd(): Promise<void> {
    const trainer = this.trainer;
    await withStepScope(async () => {
      const connector = trainer._loggerConnector;
      connector.epochEndReached();
      this.epochProgress.incrementProcessed();
      // Monitoring callbacks (checkpointing, early stopping) after the module's hook, so they
      // see what it logs.
      await callCallbackHooks(trainer, "onTrainEpochEnd", [], false);
      await callModuleHook(trainer, "onTrainEpochEnd");
      await callCallbackHooks(trainer, "onTrainEpochEnd", [], true);
      await this.epochLoop.results.flush();
      connector.onEpochEnd();
      if (this.epochLoop.numReadyBatchesReached()) await this.epochLoop.updateLrSchedulers("epoch", true);
      // Loggers get the epoch metrics at the step of the epoch's last optimizer step.
      this.epochLoop.batchesThatStepped -= 1;
      connector.updateTrainEpochMetrics();
      this.epochLoop.batchesThatStepped += 1;
      this.epochProgress.incrementCompleted();
    });
  }

  private async onRunEnd(): Promise<void> {
    const trainer = this.trainer;
    await withStepScope(async () => {
      await callCallbackHooks(trainer, "onTrainEnd");
      await callModuleHook(trainer, "onTrainEnd");
    });
  }

  override stateDict(): Record<string, unknown> {
    const train = this.trainDataloader;
    return {
      epochProgress: this.epochProgress.stateDict(),
      epochLoop: this.epochLoop.stateDict(),
      dataloaders: {
        train: train ? { atEpochStart: this.trainStatesAtEpochStart, now: captureGeneratorStates(train) } : null,
        val: this.epochLoop.valLoop.dataloaderStates(),
      },
      // What `onTrainEpochEnd` could see: a plateau scheduler step still due after it needs them.
      monitorMetrics: { ...this.trainer.callbackMetrics },
    };
  }

  protected override onLoadState(state: Record<string, any>): void {
    this.epochProgress.loadStateDict(state.epochProgress);
    this.epochLoop.loadStateDict(state.epochLoop);
    const dl = state.dataloaders ?? {};
    this.pendingTrainStates = dl.train ?? null;
    this.epochLoop.valLoop.pendingDataloaderStates = dl.val ?? null;
    this.pendingMonitorMetrics = state.monitorMetrics ?? null;
  }

  /** Forgets the dataloaders (new data attached to the trainer). */
  resetDataloaders(): void {
    this.trainDataloader = null;
    this.maxBatches = 0;
    this.lastTrainDlReloadEpoch = -Infinity;
    this.epochLoop.valLoop.resetDataloaders();
  }
}
