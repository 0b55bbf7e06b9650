/**
 * `Trainer` (Lightning's `lightning.pytorch.Trainer`): runs a LightningModule's training,
 * validation, test and prediction loops with Lightning's flags and defaults.
 *
 *   await new Trainer({ maxEpochs: 2 }).fit(new NetModule(args));
 *
 * Devices, precision and distribution come from the same connector, strategies and precision
 * plugins as LightningLite. The loops live in `loops/` (fit → training epoch → automatic or
 * manual optimisation; evaluation; prediction), checkpoints in `connectors/checkpoint_connector`,
 * logging in `connectors/logger_connector`.
 *
 * The constructor hands each flag to the part that owns it, as Lightning's does: the loops check
 * their limits, `setup.ts` the optimisation, debugging and determinism flags and the profiler,
 * and the data, logger and callback connectors their own flags (`onTrainerInit`). Before a run,
 * `configuration_validator.ts` checks that the module can run it.
 *
 * Order of a `fit` (as Lightning's): configureCallbacks, prepareData, setup("fit") (datamodule,
 * callbacks, module), configureModel, [checkpoint: module weights + callback states],
 * configureOptimizers, onFitStart, [hyperparameters to the loggers], [checkpoint: optimizers,
 * schedulers, loops, random streams], sanity check (isolated: it changes no random stream and
 * leaves the model in the modes it found), the epochs, onFitEnd, teardown("fit").
 */
import * as fs from "node:fs";
import * as path from "node:path";
import type { tf } from "../../torch/tf.ts";
import type { Device } from "../../torch/device.ts";
import type { Optimizer } from "../../torch/optim/optimizer.ts";
import { setGradEnabled } from "../../torch/autograd/grad_mode.ts";
import { setLossTraceRankCheck } from "../../torch/autograd/loss_trace.ts";
import type { BackwardOptions } from "../../torch/autograd/backward.ts";
import { isolateRandomState } from "../../torch/random.ts";
import { Connector } from "../connector.ts";
import { MisconfigurationError } from "../errors.ts";
import type { Accelerator } from "../accelerators/accelerator.ts";
import type { Strategy } from "../strategies/strategy.ts";
import { DDPSpawnStrategy } from "../strategies/ddp_spawn.ts";
import type { Precision } from "../plugins/precision/precision.ts";
import { Callback, Checkpoint } from "../callbacks/callback.ts";
import { ProgressBar } from "../callbacks/progress/progress_bar.ts";
import type { Logger } from "../loggers/logger.ts";
import { TensorBoardLogger } from "../loggers/tensorboard_logger.ts";
import { CSVLogger } from "../loggers/csv_logger.ts";
import { logHyperparams } from "../loggers/utilities.ts";
import { rankZeroOnly, rankZeroWarn } from "../utilities/rank_zero.ts";
import type { Profiler } from "../profilers/profiler.ts";
import { LightningModule, isOverridden, moduleInternals, type GradientClipAlgorithm } from "../core/module.ts";
import { LightningDataModule } from "../core/datamodule.ts";
import { sequence, type MaybePromise } from "../core/maybe_async.ts";
import {
  LightningOptimizer,
  configureSchedulersAutomatic,
  configureSchedulersManual,
  parseOptimizersConfig,
  validateSchedulersAttached,
  type LRSchedulerConfig,
} from "../core/optimizer.ts";
import { describeValue } from "../utilities/describe.ts";
import { FitLoop } from "../loops/fit_loop.ts";
import { EvaluationLoop } from "../loops/evaluation_loop.ts";
import { PredictionLoop } from "../loops/prediction_loop.ts";
import { runBackward } from "../loops/optimization/backward.ts";
import { callCallbackHooks, callDatamoduleHook, callModuleHook, callSetupHook, callTeardownHook } from "./call.ts";
import { verifyLoopConfigurations } from "./configuration_validator.ts";
import { CallbackConnector } from "./connectors/callback_connector.ts";
import { CheckpointConnector } from "./connectors/checkpoint_connector.ts";
import { DataConnector, type DataSource } from "./connectors/data_connector.ts";
import { LoggerConnector } from "./connectors/logger_connector/logger_connector.ts";
import type { ResultCollection } from "./connectors/logger_connector/result.ts";
import { TRAINER_OPTION_KEYS, type TrainerOptions } from "./options.ts";
import { initDebuggingFlags, initDeterminism, initOptimizationFlags, initProfiler, logDeviceInfo } from "./setup.ts";
import { TrainerState, type RunningStage, type TrainerFnName } from "./states.ts";
import { checkOptionKeys, optionKeys } from "../utilities/option_keys.ts";

export interface FitOptions {
  trainDataloaders?: DataSource | null;
  valDataloaders?: DataSource | DataSource[] | null;
  datamodule?: LightningDataModule | null;
  /** Resume from a checkpoint: a path, `"last"` or `"best"`. */
  ckptPath?: string | null;
}

export interface EvaluateOptions {
  /** The dataloader(s) to evaluate on (or a datamodule). */
  dataloaders?: DataSource | DataSource[] | LightningDataModule | null;
  datamodule?: LightningDataModule | null;
  /** Weights to evaluate: a path, `"last"` or `"best"` (default: the model as it is; without a model, the best checkpoint of the last fit). */
  ckptPath?: string | null;
  /** Print the results table (default true). */
  verbose?: boolean;
}

export interface PredictOptions {
  dataloaders?: DataSource | DataSource[] | LightningDataModule | null;
  datamodule?: LightningDataModule | null;
  ckptPath?: string | null;
  /** Keep and return the predictions (default true). */
  returnPredictions?: boolean;
}

const FIT_OPTION_KEYS = optionKeys<FitOptions>()(["trainDataloaders", "valDataloaders", "datamodule", "ckptPath"]);
const EVALUATE_OPTION_KEYS = optionKeys<EvaluateOptions>()(["dataloaders", "datamodule", "ckptPath", "verbose"]);
const PREDICT_OPTION_KEYS = optionKeys<PredictOptions>()(["dataloaders", "datamodule", "returnPredictions", "ckptPath"]);

/**
 * The options of `fit`/`validate`/`test`/`predict`, also in Lightning's positional form: a
 * DataLoader (or any iterable, or a list of them) where Lightning takes `dataloaders`
 * (`trainer.validate(model, loader)`), a datamodule where it takes `datamodule`. A plain object
 * is the options, checked for unknown keys.
 */
function runOptions(options: unknown, dataKey: string, known: readonly string[], owner: string): object {
  if (options === undefined || options === null) return {};
  if (options instanceof LightningDataModule) return { datamodule: options };
  const plain = typeof options === "object" && (Object.getPrototypeOf(options) === Object.prototype || Object.getPrototypeOf(options) === null);
  if (!plain) return { [dataKey]: options };
  checkOptionKeys(options, known, owner);
  return options;
}

export class Trainer {
  readonly state = new TrainerState();
  readonly fitLoop: FitLoop;
  readonly validateLoop: EvaluationLoop;
  readonly testLoop: EvaluationLoop;
  readonly predictLoop: PredictionLoop;
  /** @internal */ readonly _dataConnector: DataConnector;
  /** @internal */ readonly _loggerConnector: LoggerConnector;
  /** @internal */ readonly _checkpointConnector: CheckpointConnector;
  /** @internal */ readonly _callbackConnector: CallbackConnector;
  private readonly connector: Connector;

  // The `!` fields are assigned by the constructor's steps (setup.ts, the connectors' `onTrainerInit`).
  callbacks!: Callback[];
  loggers!: Logger[];
  readonly profiler: Profiler;
  /** Set to true (a callback, or the module) to stop training after the current step/epoch (respecting `minEpochs`/`minSteps`). */
  shouldStop = false;

  readonly accumulateGradBatches!: number;
  readonly gradientClipVal!: number | null;
  readonly gradientClipAlgorithm!: GradientClipAlgorithm | null;
  readonly limitTrainBatches!: number | null;
  readonly limitValBatches!: number | null;
  readonly limitTestBatches!: number | null;
  readonly limitPredictBatches!: number | null;
  readonly overfitBatches!: number;
  readonly valCheckInterval!: number;
  /** Batches between validations in an epoch, resolved from `valCheckInterval` when training starts. */
  valCheckBatch = Infinity;
  readonly checkValEveryNEpoch!: number | null;
  readonly numSanityValSteps!: number;
  readonly logEveryNSteps!: number;
  /** `false`, or the number of batches each loop runs. */
  readonly fastDevRun!: false | number;
  readonly detectAnomaly!: boolean;
  readonly deterministic!: boolean | "warn";
  readonly reloadDataloadersEveryNEpochs!: number;
  readonly useDistributedSampler!: boolean;
  readonly defaultRootDir: string;
  readonly enableCheckpointing!: boolean;
  readonly enableProgressBar!: boolean;
  readonly enableModelSummary!: boolean;

  /** @internal The module being run. */
  _model: LightningModule | null = null;
  datamodule: LightningDataModule | null = null;
  /** The optimizers from `configureOptimizers` (after the strategy set them up). */
  optimizers: Optimizer<any>[] = [];
  /** @internal The wrappers `LightningModule.optimizers()` returns. */
  _lightningOptimizers: LightningOptimizer[] = [];
  lrSchedulerConfigs: LRSchedulerConfig[] = [];

  constructor(options: TrainerOptions = {}) {
    checkOptionKeys(options, TRAINER_OPTION_KEYS, "Trainer");
    this.connector = new Connector({
      accelerator: options.accelerator,
      devices: options.devices,
      strategy: options.strategy,
      precision: options.precision,
      numNodes: options.numNodes,
      plugins: options.plugins,
    });
    const strategy = this.connector.strategy;
    // The loss trace is written on global rank 0 only.
    setLossTraceRankCheck(() => strategy.isGlobalZero);
    rankZeroOnly.rank = strategy.globalRank;
    // LIGHTNING_TS_DEFAULT_ROOT_DIR: where runs write when the script names no folder (lit-migrate
    // --verify points it at a temporary folder so that nothing lands in the user's working folder).
    this.defaultRootDir = path.resolve(options.defaultRootDir ?? (process.env.LIGHTNING_TS_DEFAULT_ROOT_DIR || process.cwd()));

    this._dataConnector = new DataConnector(this);
    this._loggerConnector = new LoggerConnector(this);
    this._checkpointConnector = new CheckpointConnector(this);
    this._callbackConnector = new CallbackConnector(this);
    // The fit loop and its epoch loop check the loop limits (`maxEpochs`, `maxSteps`, …).
    this.fitLoop = new FitLoop(this, options);
    this.validateLoop = new EvaluationLoop(this, "validate", () => this._dataConnector.validateSource);
    this.testLoop = new EvaluationLoop(this, "test", () => this._dataConnector.testSource);
    this.predictLoop = new PredictionLoop(this);

    initOptimizationFlags(this, options);
    initDebuggingFlags(this, options);
    this._dataConnector.onTrainerInit(options);
    initDeterminism(this, options);
    this.profiler = initProfiler(options.profiler);
    // After the debugging flags: `fastDevRun` runs without loggers.
    this._loggerConnector.onTrainerInit(options);
    this._callbackConnector.onTrainerInit(options);
    logDeviceInfo(this);
  }

  // ---------------------------------------------------------------------------------------
  // Read-only views (what callbacks and modules use)

  get strategy(): Strategy {
    return this.connector.strategy;
  }

  get accelerator(): Accelerator {
    return this.connector.accelerator;
  }

  get precisionPlugin(): Precision {
    return this.connector.strategy.precision;
  }

  get device(): Device {
    return this.strategy.rootDevice;
  }

  get globalRank(): number {
    return this.strategy.globalRank;
  }

  get localRank(): number {
    return this.strategy.localRank;
  }

  get nodeRank(): number {
    return this.strategy.nodeRank;
  }

  get worldSize(): number {
    return this.strategy.worldSize;
  }

  get numNodes(): number {
    return this.connector.numNodes;
  }

  get numDevices(): number {
    return this.connector.parallelDevices.length;
  }

  get isGlobalZero(): boolean {
    return this.strategy.isGlobalZero;
  }

  /** The LightningModule being run; an error before `fit`/`validate`/`test`/`predict`. */
  get lightningModule(): LightningModule {
    if (this._model === null) throw new Error("No LightningModule is attached to the Trainer yet: call fit/validate/test/predict");
    return this._model;
  }

  /** The epoch being trained (0-based); the number of completed epochs between epochs. */
  get currentEpoch(): number {
    return this.fitLoop.epochProgress.current.completed;
  }

  /** Optimizer steps taken. */
  get globalStep(): number {
    return this.fitLoop.epochLoop.globalStep;
  }

  /** Optimizer steps to stop at (-1: no limit); `fastDevRun: N` makes it N. */
  get maxSteps(): number {
    return this.fastDevRun !== false ? this.fastDevRun : this.fitLoop.epochLoop.maxSteps;
  }

  get minSteps(): number | null {
    return this.fitLoop.epochLoop.minSteps;
  }

  get maxEpochs(): number {
    return this.fitLoop.maxEpochs;
  }

  get minEpochs(): number {
    return this.fitLoop.minEpochs;
  }

  get numTrainingBatches(): number {
    return this.fitLoop.maxBatches;
  }

  get numValBatches(): number[] {
    return this.state.fn === "fit" ? this.fitLoop.epochLoop.valLoop.maxBatches : this.validateLoop.maxBatches;
  }

  get numSanityValBatches(): number[] {
    const n = this.numSanityValSteps === -1 ? Infinity : this.numSanityValSteps;
    return this.fitLoop.epochLoop.valLoop.maxBatches.map((b) => Math.min(n, b));
  }

  get numTestBatches(): number[] {
    return this.testLoop.maxBatches;
  }

  get numPredictBatches(): number[] {
    return this.predictLoop.numBatches;
  }

  get trainDataloader(): DataSource | null {
    return this.fitLoop.trainDataloader;
  }

  get valDataloaders(): DataSource[] | null {
    return this.state.fn === "fit" ? this.fitLoop.epochLoop.valLoop.dataloaders : this.validateLoop.dataloaders;
  }

  get testDataloaders(): DataSource[] | null {
    return this.testLoop.dataloaders;
  }

  get predictDataloaders(): DataSource[] | null {
    return this.predictLoop.dataloaders;
  }

  /** Metrics logged so far that callbacks (checkpointing, early stopping) and plateau schedulers can monitor. */
  get callbackMetrics(): Record<string, number> {
    return this._loggerConnector.callbackMetrics;
  }

  /** Metrics sent (or to be sent) to the loggers. */
  get loggedMetrics(): Record<string, number> {
    return this._loggerConnector.loggedMetrics;
  }

  /** Metrics logged with `progBar: true`. */
  get progressBarMetrics(): Record<string, number> {
    return this._loggerConnector.progressBarMetrics;
  }

  /** The first logger, or null. */
  get logger(): Logger | null {
    return this.loggers[0] ?? null;
  }

  /** Where this run writes: the first logger's version folder, else `defaultRootDir`. */
  get logDir(): string {
    const first = this.loggers[0];
    if (first === undefined) return this.defaultRootDir;
    if (first instanceof TensorBoardLogger || first instanceof CSVLogger) return first.logDir;
    return first.saveDir ?? this.defaultRootDir;
  }

  get checkpointCallbacks(): Checkpoint[] {
    return this.callbacks.filter((c): c is Checkpoint => c instanceof Checkpoint);
  }

  /** The first checkpoint callback, or null. */
  get checkpointCallback(): Checkpoint | null {
    return this.checkpointCallbacks[0] ?? null;
  }

  /** The progress bar callback (the callback extending `ProgressBar`), if any. */
  get progressBarCallback(): ProgressBar | null {
    return this.callbacks.find((c): c is ProgressBar => c instanceof ProgressBar) ?? null;
  }

  /** The checkpoint path the current or last run restored from. */
  get ckptPath(): string | null {
    return this._checkpointConnector.ckptPath;
  }

  /** Whether validation runs during fit: val data defined, `validationStep` implemented, `limitValBatches` > 0. */
  get enableValidation(): boolean {
    const module = this._model;
    return (
      this._dataConnector.fitValSource.isDefined() &&
      isOverridden("validationStep", module, LightningModule.prototype) &&
      (this.limitValBatches === null || this.limitValBatches > 0)
    );
  }

  get training(): boolean {
    return this.state.stage === "train";
  }

  get sanityChecking(): boolean {
    return this.state.stage === "sanity_check";
  }

  get validating(): boolean {
    return this.state.stage === "validate";
  }

  get testing(): boolean {
    return this.state.stage === "test";
  }

  get predicting(): boolean {
    return this.state.stage === "predict";
  }

  get evaluating(): boolean {
    return this.state.stage === "validate" || this.state.stage === "test";
  }

  get interrupted(): boolean {
    return this.state.status === "interrupted";
  }

  /** @internal The result collection of the loop running now (where `this.log` writes), or null. */
  get _results(): ResultCollection | null {
    switch (this.state.stage) {
      case "train":
        return this.fitLoop.epochLoop.results;
      case "sanity_check":
        return this.fitLoop.epochLoop.valLoop.results;
      case "validate":
        return this.state.fn === "fit" ? this.fitLoop.epochLoop.valLoop.results : this.validateLoop.results;
      case "test":
        return this.testLoop.results;
      default:
        return null;
    }
  }

  /**
   * `console.log` on rank 0, through the progress bar's `print` when there is a bar (so the
   * line appears above it instead of breaking it). The Trainer's own messages during a run
   * (`rankZeroInfo` in utilities/rank_zero.ts) are printed this way too.
   */
  print(...args: unknown[]): void {
    if (!this.isGlobalZero) return;
    const bar = this.progressBarCallback;
    if (bar !== null) bar.print(...args);
    else console.log(...args);
  }

  // ---------------------------------------------------------------------------------------
  // Entry points

  /** Trains `model` (and validates it every `valCheckInterval` / `checkValEveryNEpoch`). */
  async fit(model: LightningModule, options: FitOptions | DataSource | LightningDataModule = {}): Promise<void> {
    checkModel(model, "fit");
    options = runOptions(options, "trainDataloaders", FIT_OPTION_KEYS, "trainer.fit()") as FitOptions;
    this.startEntry("fit", "train");
    this.shouldStop = false;
    await this.callAndHandleInterrupt(async () => {
      this._dataConnector.attachData(model, {
        trainDataloaders: options.trainDataloaders,
        valDataloaders: options.valDataloaders,
        datamodule: options.datamodule,
      });
      this.fitLoop.resetDataloaders();
      const ckptPath = this._checkpointConnector.resolveCkptPath("fit", options.ckptPath, true, this._model !== null);
      await this.run(model, ckptPath);
    });
  }

  /** Runs the validation loop; returns the logged metrics, one object per dataloader. */
  async validate(model?: LightningModule | null, options: EvaluateOptions | DataSource | DataSource[] | LightningDataModule = {}): Promise<Array<Record<string, number>>> {
    return this.evaluate("validate", model, runOptions(options, "dataloaders", EVALUATE_OPTION_KEYS, "trainer.validate()") as EvaluateOptions);
  }

  /** Runs the test loop; returns the logged metrics, one object per dataloader, and prints them as a table. */
  async test(model?: LightningModule | null, options: EvaluateOptions | DataSource | DataSource[] | LightningDataModule = {}): Promise<Array<Record<string, number>>> {
    return this.evaluate("test", model, runOptions(options, "dataloaders", EVALUATE_OPTION_KEYS, "trainer.test()") as EvaluateOptions);
  }

  private async evaluate(fn: "validate" | "test", model: LightningModule | null | undefined, options: EvaluateOptions): Promise<Array<Record<string, number>>> {
    const resolved = this.resolveModel(model, fn);
    this.startEntry(fn, fn);
    const loop = fn === "test" ? this.testLoop : this.validateLoop;
    loop.verbose = options.verbose ?? true;
    const { dataloaders, datamodule } = splitDataloaders(options.dataloaders, options.datamodule, fn);
    const result = await this.callAndHandleInterrupt(async () => {
      this._dataConnector.attachData(resolved, fn === "test" ? { testDataloaders: dataloaders, datamodule } : { valDataloaders: dataloaders, datamodule });
      loop.resetDataloaders();
      const ckptPath = this._checkpointConnector.resolveCkptPath(fn, options.ckptPath, model !== undefined && model !== null, this._model !== null);
      return (await this.run(resolved, ckptPath)) as Array<Record<string, number>>;
    });
    return result;
  }

  /** Runs `predictStep` over the predict dataloader(s); returns the predictions (kept tensors: dispose them when done). */
  async predict(model?: LightningModule | null, options: PredictOptions | DataSource | DataSource[] | LightningDataModule = {}): Promise<unknown[] | unknown[][] | null> {
    options = runOptions(options, "dataloaders", PREDICT_OPTION_KEYS, "trainer.predict()") as PredictOptions;
    const resolved = this.resolveModel(model, "predict");
    this.startEntry("predict", "predict");
    this.predictLoop.returnPredictions = options.returnPredictions ?? true;
    const { dataloaders, datamodule } = splitDataloaders(options.dataloaders, options.datamodule, "predict");
    return this.callAndHandleInterrupt(async () => {
      this._dataConnector.attachData(resolved, { predictDataloaders: dataloaders, datamodule });
      const ckptPath = this._checkpointConnector.resolveCkptPath("predict", options.ckptPath, model !== undefined && model !== null, this._model !== null);
      return (await this.run(resolved, ckptPath)) as unknown[] | unknown[][] | null;
    });
  }

  /**
   * Writes a checkpoint of the current state to `filepath` (rank 0; atomically). With
   * `weightsOnly`, only the model weights, loops and hyperparameters.
   */
  async saveCheckpoint(filepath: string, weightsOnly = false): Promise<void> {
    if (this._model === null) {
      throw new Error(
        "Saving a checkpoint is only possible if a model is attached to the Trainer. Did you call `Trainer.saveCheckpoint()` " +
          "before calling `Trainer.{fit,validate,test,predict}`?",
      );
    }
    const checkpoint = await this._checkpointConnector.dumpCheckpoint(weightsOnly);
    if (this.isGlobalZero) fs.mkdirSync(path.dirname(path.resolve(filepath)), { recursive: true });
    await this.strategy.saveCheckpoint(filepath, checkpoint);
    await this.strategy.barrier("Trainer.saveCheckpoint");
  }

  // ---------------------------------------------------------------------------------------
  // Internals used by the module and the loops

  /** @internal Backward with hooks and the loss trace (automatic closure and `manualBackward`). */
  _backward(loss: tf.Tensor, traced: tf.Tensor, options: Omit<BackwardOptions, "trace"> = {}): MaybePromise<void> {
    return runBackward(this, loss, traced, options);
  }

  private resolveModel(model: LightningModule | null | undefined, fn: TrainerFnName): LightningModule {
    if (model !== undefined && model !== null) {
      checkModel(model, fn);
      return model;
    }
    if (this._model === null) {
      throw new TypeError(`\`model\` must be provided to \`trainer.${fn}()\` when it hasn't been passed in a previous run`);
    }
    return this._model;
  }

  private startEntry(fn: TrainerFnName, stage: RunningStage): void {
    this.state.fn = fn;
    this.state.status = "running";
    this.state.stage = stage;
  }

  private async callAndHandleInterrupt<T>(fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (error) {
      this.state.status = "interrupted";
      try {
        await callCallbackHooks(this, "onException", [error]);
        if (this.datamodule !== null) await callDatamoduleHook(this, "onException", [error]);
      } catch (hookError) {
        process.stderr.write(`lightning-ts: an onException hook failed too: ${String(hookError)}\n`);
      }
      for (const logger of this.loggers) {
        try {
          logger.finalize("failed");
        } catch {
          /* the original error is what matters */
        }
      }
      this.teardownInternal();
      throw error;
    }
  }

  private async run(model: LightningModule, ckptPath: string | null): Promise<unknown> {
    if (this.strategy instanceof DDPSpawnStrategy) return this.runSpawned(this.strategy, model, ckptPath);
    return this.runHere(model, ckptPath);
  }

  /**
   * `strategy: "ddp_spawn"` (DDPSpawnStrategy.runCall): this call runs in worker processes, which
   * start from the module's weights; rank 0's weights, callback metrics and results come back here.
   */
  private async runSpawned(strategy: DDPSpawnStrategy, model: LightningModule, ckptPath: string | null): Promise<unknown> {
    const fn = this.state.fn!;
    const results = await strategy.runCall<unknown>({
      state: () => model.stateDict(),
      skipped: fn === "fit" ? undefined : fn === "predict" ? null : [],
      run: (state) => {
        model.loadStateDict(state as Record<string, tf.Tensor>);
        return this.runHere(model, ckptPath);
      },
      output: (results) => ({ weights: model.stateDict(), callbackMetrics: { ...this.callbackMetrics }, results }),
      takeBack: (out) => {
        if (this._model !== null && this._model !== model) moduleInternals(this._model).trainer = null;
        this._model = model;
        moduleInternals(model).trainer = this;
        model.loadStateDict(out.weights as Record<string, tf.Tensor>);
        Object.assign(this.callbackMetrics, out.callbackMetrics);
        return out.results;
      },
    });
    this.state.status = "finished";
    this.state.stage = null;
    return results;
  }

  private async runHere(model: LightningModule, ckptPath: string | null): Promise<unknown> {
    const fn = this.state.fn!;
    if (fn === "fit") this.fitLoop.setupLimits();
    // Attach the model.
    if (this._model !== null && this._model !== model) moduleInternals(this._model).trainer = null;
    this._model = model;
    moduleInternals(model).trainer = this;
    await this._callbackConnector.attachModelCallbacks();
    verifyLoopConfigurations(this);
    // (before prepareData, as Lightning's `_run`: DDP starts its ranks here, and prepareData's barrier needs them)
    if (!this.strategy.isEnvironmentReady()) await this.strategy.setupEnvironment();
    await this._dataConnector.prepareData();

    // Set up.
    this._loggerConnector.connectResultSync();
    this._loggerConnector.completeDefaultLoggers();
    this.profiler.setup(fn, this.localRank, this.loggers.length > 0 ? this.logDir : null);
    await callSetupHook(this);
    await callModuleHook(this, "configureModel");
    await this._checkpointConnector.restoreModulesAndCallbacks(ckptPath);
    this._loggerConnector.resetResults();
    this._loggerConnector.resetMetrics();
    await this.setupStrategy(model, fn);
    if (fn === "fit") {
      await callCallbackHooks(this, "onFitStart");
      await callModuleHook(this, "onFitStart");
    }
    logHyperparams(this);
    this._checkpointConnector.restoreTrainingState();
    await this._checkpointConnector.resumeEnd();

    // Run.
    const results = await this.runStage();

    // Clean up.
    this.teardownInternal();
    if (fn === "fit") {
      await callCallbackHooks(this, "onFitEnd");
      await callModuleHook(this, "onFitEnd");
    }
    await callTeardownHook(this);
    this.state.status = "finished";
    this.state.stage = null;
    return results;
  }

  /** Lightning's `strategy.setup(trainer)`: precision conversion, device, and (fit) the optimizers. */
  private async setupStrategy(model: LightningModule, fn: TrainerFnName): Promise<void> {
    const strategy = this.strategy;
    const converted = strategy.precision.convertModule(model);
    strategy.moduleToDevice(converted);
    strategy.setupModule(converted);
    if (fn !== "fit") return;
    const conf = await callModuleHook(this, "configureOptimizers");
    if (conf === null || conf === undefined) {
      rankZeroWarn("`LightningModule.configureOptimizers` returned `undefined`, this fit will run with no optimizer");
    }
    const { optimizers, schedulers, monitor } = parseOptimizersConfig(conf);
    const configs = model.automaticOptimization ? configureSchedulersAutomatic(schedulers, monitor) : configureSchedulersManual(schedulers);
    if (model.automaticOptimization && optimizers.length > 1) {
      throw new MisconfigurationError(
        "Training with multiple optimizers is only supported with manual optimization. Set `this.automaticOptimization = false`, " +
          "then access your optimizers in `trainingStep` with `const [opt1, opt2] = this.optimizers()`.",
      );
    }
    validateSchedulersAttached(optimizers, configs);
    this.optimizers = optimizers.map((o) => strategy.setupOptimizer(o));
    this.lrSchedulerConfigs = configs;
    const context = { strategy, afterClosure: (o: Optimizer<any>) => this.afterClosure(o) };
    this._lightningOptimizers = this.optimizers.map((o) => new LightningOptimizer(o, context));
  }

  /**
   * Between the closure and the optimizer's update: the gradients back to their true scale (a
   * loss-scaling precision), `onBeforeOptimizerStep`, then clipping (automatic optimisation).
   */
  private afterClosure(optimizer: Optimizer<any>): MaybePromise<void> {
    return sequence([
      () => this.strategy.precision.unscaleGradients(optimizer),
      () => callCallbackHooks(this, "onBeforeOptimizerStep", [optimizer]),
      () => callModuleHook(this, "onBeforeOptimizerStep", [optimizer]),
      () =>
        this.lightningModule.automaticOptimization
          ? callModuleHook(this, "configureGradientClipping", [optimizer, this.gradientClipVal, this.gradientClipAlgorithm])
          : undefined,
    ]);
  }

  private async runStage(): Promise<unknown> {
    await this.strategy.barrier("run-stage");
    this.lightningModule.zeroGrad();
    const fn = this.state.fn;
    if (fn === "validate") return this.validateLoop.run();
    if (fn === "test") return this.testLoop.run();
    if (fn === "predict") return this.predictLoop.run();
    // The sanity check must not change the training run: every random stream is put back,
    // the script's own generators included.
    await isolateRandomState(() => this.runSanityCheck());
    setGradEnabled(true);
    await this.fitLoop.run();
    return undefined;
  }

  private async runSanityCheck(): Promise<void> {
    const valLoop = this.fitLoop.epochLoop.valLoop;
    // Not when resuming: the restored state is what the next validation must see.
    if (!this.enableValidation || this.numSanityValSteps === 0 || this.fitLoop.restarting) return;
    const stage = this.state.stage;
    this.state.stage = "sanity_check";
    try {
      this._loggerConnector.resetResults();
      this._loggerConnector.resetMetrics();
      await callCallbackHooks(this, "onSanityCheckStart");
      await valLoop.run();
      await callCallbackHooks(this, "onSanityCheckEnd");
      this._loggerConnector.resetResults();
      this._loggerConnector.resetMetrics();
      valLoop.batchProgress.reset();
    } finally {
      this.state.stage = stage;
    }
  }

  private teardownInternal(): void {
    this.strategy.teardown();
    this._loggerConnector.firstLoopIter = null;
  }
}

function checkModel(model: unknown, fn: string): asserts model is LightningModule {
  if (!(model instanceof LightningModule)) {
    throw new TypeError(`\`Trainer.${fn}()\` requires a \`LightningModule\`, got: ${describeValue(model)}`);
  }
}

function splitDataloaders(
  dataloaders: DataSource | DataSource[] | LightningDataModule | null | undefined,
  datamodule: LightningDataModule | null | undefined,
  fn: string,
): { dataloaders: DataSource | DataSource[] | null; datamodule: LightningDataModule | null } {
  if (dataloaders instanceof LightningDataModule) {
    if (datamodule) throw new MisconfigurationError(`You cannot pass both \`trainer.${fn}(dataloaders=..., datamodule=...)\``);
    return { dataloaders: null, datamodule: dataloaders };
  }
  if (dataloaders !== null && dataloaders !== undefined && datamodule) {
    throw new MisconfigurationError(`You cannot pass both \`trainer.${fn}(dataloaders=..., datamodule=...)\``);
  }
  return { dataloaders: dataloaders ?? null, datamodule: datamodule ?? null };
}
