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
 * Order of a `fit` (as Lightning's): configureCallbacks, prepareData, setup("fit") (datamodule,
 * callbacks, module), configureModel, [checkpoint: module weights + callback states],
 * configureOptimizers, onFitStart, [hyperparameters to the loggers], [checkpoint: optimizers,
 * schedulers, loops, random streams], sanity check (isolated: it changes no random stream and
 * leaves the model in the modes it found), the epochs, onFitEnd, teardown("fit").
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { tf } from "../../torch/tf";
import { cuda, type Device } from "../../torch/device";
import type { Optimizer } from "../../torch/optim/optimizer";
import { setGradEnabled } from "../../torch/autograd/grad_mode";
import { setLossTraceRankCheck } from "../../torch/autograd/loss_trace";
import type { BackwardOptions } from "../../torch/autograd/backward";
import { getRngState, setRngState } from "../../torch/random";
import { Connector } from "../connector";
import { MisconfigurationError } from "../errors";
import type { Accelerator } from "../accelerators/accelerator";
import type { Strategy } from "../strategies/strategy";
import type { Precision } from "../plugins/precision/precision";
import { Callback, Checkpoint } from "../callbacks/callback";
import type { ProgressBar } from "../callbacks/progress/progress_bar";
import { Logger } from "../loggers/logger";
import { TensorBoardLogger } from "../loggers/tensorboard_logger";
import { CSVLogger } from "../loggers/csv_logger";
import { rankZeroOnly, rankZeroWarn } from "../loggers/rank_zero";
import type { Profiler } from "../profilers/profiler";
import { LightningModule, isOverridden, moduleInternals, type GradientClipAlgorithm } from "../core/module";
import { LightningDataModule } from "../core/datamodule";
import { hparamsState } from "../core/hparams";
import { sequence, type MaybePromise } from "../core/maybe_async";
import {
  LightningOptimizer,
  configureSchedulersAutomatic,
  configureSchedulersManual,
  parseOptimizersConfig,
  validateSchedulersAttached,
  type LRSchedulerConfig,
} from "../core/optimizer";
import { describeValue } from "../utilities/describe";
import { FitLoop } from "../loops/fit_loop";
import { EvaluationLoop } from "../loops/evaluation_loop";
import { PredictionLoop } from "../loops/prediction_loop";
import { runBackward } from "../loops/optimization/backward";
import { callCallbackHooks, callDatamoduleHook, callModuleHook, callSetupHook, callTeardownHook } from "./call";
import { CallbackConnector } from "./connectors/callback_connector";
import { defaultCallbacks } from "./connectors/default_callbacks";
// Installs ModelCheckpoint, TQDMProgressBar and ModelSummary as the default callbacks.
import "../callbacks/register_defaults";
import { CheckpointConnector } from "./connectors/checkpoint_connector";
import { DataConnector, type DataSource } from "./connectors/data_connector";
import { LoggerConnector } from "./connectors/logger_connector/logger_connector";
import type { ResultCollection } from "./connectors/logger_connector/result";
import { rankZeroInfo } from "./messages";
import type { TrainerOptions } from "./options";
import { checkNonNegativeInt, checkPositiveInt, determineBatchLimits, initProfiler } from "./setup";
import { TrainerState, type RunningStage, type TrainerFnName } from "./states";

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

  callbacks: Callback[];
  loggers: Logger[];
  readonly profiler: Profiler;
  /** Set to true (a callback, or the module) to stop training after the current step/epoch (respecting `minEpochs`/`minSteps`). */
  shouldStop = false;

  private readonly maxStepsFlag: number;
  readonly minSteps: number | null;
  readonly accumulateGradBatches: number;
  readonly gradientClipVal: number | null;
  readonly gradientClipAlgorithm: GradientClipAlgorithm | null;
  readonly limitTrainBatches: number | null;
  readonly limitValBatches: number | null;
  readonly limitTestBatches: number | null;
  readonly limitPredictBatches: number | null;
  readonly overfitBatches: number;
  readonly valCheckInterval: number;
  /** Batches between validations in an epoch, resolved from `valCheckInterval` when training starts. */
  valCheckBatch = Infinity;
  readonly checkValEveryNEpoch: number | null;
  readonly numSanityValSteps: number;
  readonly logEveryNSteps: number;
  /** `false`, or the number of batches each loop runs. */
  readonly fastDevRun: false | number;
  readonly detectAnomaly: boolean;
  readonly deterministic: boolean | "warn";
  readonly reloadDataloadersEveryNEpochs: number;
  readonly useDistributedSampler: boolean;
  readonly defaultRootDir: string;
  readonly enableCheckpointing: boolean;
  readonly enableProgressBar: boolean;
  readonly enableModelSummary: boolean;

  /** @internal The module being run. */
  _model: LightningModule | null = null;
  datamodule: LightningDataModule | null = null;
  /** The optimizers from `configureOptimizers` (after the strategy set them up). */
  optimizers: Optimizer<any>[] = [];
  /** @internal The wrappers `LightningModule.optimizers()` returns. */
  _lightningOptimizers: LightningOptimizer[] = [];
  lrSchedulerConfigs: LRSchedulerConfig[] = [];

  private readonly maxEpochsFlag: number | null;
  private readonly minEpochsFlag: number | null;
  private readonly defaultLoggers: boolean;

  constructor(options: TrainerOptions = {}) {
    if (options === null || typeof options !== "object") throw new TypeError(`Trainer options must be an object, got ${describeValue(options)}`);
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

    this.defaultRootDir = path.resolve(options.defaultRootDir ?? process.cwd());
    this.enableCheckpointing = options.enableCheckpointing ?? true;
    this.enableProgressBar = options.enableProgressBar ?? true;
    this.enableModelSummary = options.enableModelSummary ?? true;

    // Loop limits.
    const maxSteps = options.maxSteps ?? -1;
    if (typeof maxSteps !== "number" || !Number.isInteger(maxSteps) || maxSteps < -1) {
      throw new MisconfigurationError(`\`maxSteps\` must be a non-negative integer or -1 (infinite steps). You passed in ${describeValue(maxSteps)}.`);
    }
    this.maxStepsFlag = maxSteps;
    this.minSteps = options.minSteps ?? null;
    if (this.minSteps !== null) checkNonNegativeInt(this.minSteps, "minSteps");
    this.maxEpochsFlag = options.maxEpochs ?? null;
    if (this.maxEpochsFlag !== null) checkNonNegativeInt(this.maxEpochsFlag, "maxEpochs", true);
    this.minEpochsFlag = options.minEpochs ?? null;
    if (this.minEpochsFlag !== null) checkNonNegativeInt(this.minEpochsFlag, "minEpochs");

    // Optimisation.
    this.accumulateGradBatches = checkPositiveInt(options.accumulateGradBatches ?? 1, "accumulateGradBatches");
    const clipVal = options.gradientClipVal ?? null;
    if (clipVal !== null && (typeof clipVal !== "number" || Number.isNaN(clipVal))) {
      throw new MisconfigurationError(`\`gradientClipVal\` should be a number. Got ${describeValue(clipVal)}.`);
    }
    this.gradientClipVal = clipVal;
    const algo = options.gradientClipAlgorithm ?? null;
    if (algo !== null && algo !== "norm" && algo !== "value") {
      throw new MisconfigurationError(`\`gradientClipAlgorithm\` ${describeValue(algo)} is invalid. Allowed algorithms: ['value', 'norm'].`);
    }
    this.gradientClipAlgorithm = algo;

    // Debugging flags and batch limits (Lightning's `_init_debugging_flags`).
    const fdr = options.fastDevRun ?? false;
    if (fdr !== false && fdr !== true && (typeof fdr !== "number" || !Number.isInteger(fdr) || fdr < 0)) {
      throw new MisconfigurationError(`fastDevRun=${describeValue(fdr)} is not a valid configuration. It should be a boolean or an integer >= 0.`);
    }
    const fastBatches = fdr === true ? 1 : fdr === false ? 0 : fdr;
    this.fastDevRun = fastBatches > 0 ? fastBatches : false;
    const overfit = options.overfitBatches ?? 0;
    this.overfitBatches = determineBatchLimits(overfit, "overfitBatches") ?? 0;
    const overfitting = this.overfitBatches > 0;
    let limitTrain = determineBatchLimits(options.limitTrainBatches, "limitTrainBatches");
    let limitVal = determineBatchLimits(options.limitValBatches, "limitValBatches");
    let limitTest = determineBatchLimits(options.limitTestBatches, "limitTestBatches");
    let limitPredict = determineBatchLimits(options.limitPredictBatches, "limitPredictBatches");
    let numSanity = options.numSanityValSteps ?? 2;
    checkNonNegativeInt(numSanity, "numSanityValSteps", true);
    let valCheckInterval = determineBatchLimits(options.valCheckInterval, "valCheckInterval") ?? 1;
    if (valCheckInterval === 0) throw new MisconfigurationError("`valCheckInterval` must be > 0: to disable validation set `limitValBatches: 0`");
    let checkValEvery = options.checkValEveryNEpoch === undefined ? 1 : options.checkValEveryNEpoch;
    if (checkValEvery !== null) checkPositiveInt(checkValEvery, "checkValEveryNEpoch");
    else if (!(Number.isInteger(valCheckInterval) && valCheckInterval > 1)) {
      throw new MisconfigurationError("`valCheckInterval` should be an integer number of batches when `checkValEveryNEpoch` is null");
    }
    if (this.fastDevRun !== false) {
      const n = this.fastDevRun;
      if (!overfitting) {
        limitTrain = n;
        limitVal = n;
      }
      limitTest = n;
      limitPredict = n;
      numSanity = 0;
      valCheckInterval = 1;
      checkValEvery = 1;
      rankZeroInfo(`Running in \`fastDevRun\` mode: will run the requested loop using ${n} batch(es). Logging and checkpointing is suppressed.`);
    }
    if (overfitting) {
      limitTrain = this.overfitBatches;
      limitVal = this.overfitBatches;
    }
    this.limitTrainBatches = limitTrain;
    this.limitValBatches = limitVal;
    this.limitTestBatches = limitTest;
    this.limitPredictBatches = limitPredict;
    this.numSanityValSteps = numSanity;
    this.valCheckInterval = valCheckInterval;
    this.checkValEveryNEpoch = checkValEvery;
    this.logEveryNSteps = checkNonNegativeInt(options.logEveryNSteps ?? 50, "logEveryNSteps");
    this.reloadDataloadersEveryNEpochs = checkNonNegativeInt(options.reloadDataloadersEveryNEpochs ?? 0, "reloadDataloadersEveryNEpochs");
    this.detectAnomaly = options.detectAnomaly ?? false;
    this.useDistributedSampler = options.useDistributedSampler ?? true;
    const det = options.deterministic ?? false;
    if (det !== true && det !== false && det !== "warn") {
      throw new MisconfigurationError(`\`deterministic\` must be true, false or "warn", got ${describeValue(det)}`);
    }
    this.deterministic = det;
    // TensorFlow (tfjs-node) reads this when it picks kernels; the CPU and WASM backends are deterministic anyway.
    if (det !== false) process.env.TF_DETERMINISTIC_OPS = "1";
    this.profiler = initProfiler(options.profiler);

    // Loops and connectors.
    this._dataConnector = new DataConnector(this);
    this._loggerConnector = new LoggerConnector(this);
    this._checkpointConnector = new CheckpointConnector(this);
    this._callbackConnector = new CallbackConnector(this);
    this.fitLoop = new FitLoop(this);
    this.validateLoop = new EvaluationLoop(this, "validate", () => this._dataConnector.validateSource);
    this.testLoop = new EvaluationLoop(this, "test", () => this._dataConnector.testSource);
    this.predictLoop = new PredictionLoop(this);

    // Loggers and callbacks.
    const loggerFlag = options.logger ?? true;
    this.defaultLoggers = loggerFlag === true && this.fastDevRun === false;
    this.loggers = this.fastDevRun !== false ? [] : this.configureLoggers(loggerFlag);
    this.callbacks = this._callbackConnector.onTrainerInit(options.callbacks, {
      enableCheckpointing: this.enableCheckpointing,
      enableProgressBar: this.enableProgressBar,
      enableModelSummary: this.enableModelSummary,
    });

    const gpuUsed = this.connector.accelerator.deviceType !== "cpu" && this.connector.accelerator.deviceType !== "wasm";
    rankZeroInfo(`GPU available: ${cuda.isAvailable() ? "True" : "False"}, used: ${gpuUsed ? "True" : "False"}`);
  }

  private configureLoggers(flag: Logger | Logger[] | boolean | null): Logger[] {
    if (flag === false || flag === null) return [];
    if (flag === true) {
      // TensorBoard is the default as in Lightning; a CSVLogger joins it in the same version
      // folder (created when a run starts, once TensorBoard's version is known) so that
      // `metrics.csv` is there too.
      return [new TensorBoardLogger(this.defaultRootDir)];
    }
    const list = Array.isArray(flag) ? flag : [flag];
    list.forEach((l, i) => {
      if (!(l instanceof Logger)) throw new TypeError(`logger[${i}] must be a Logger instance, got ${describeValue(l)}`);
    });
    return [...list];
  }

  /** Adds the default CSVLogger beside the default TensorBoardLogger (same version folder). */
  private completeDefaultLoggers(): void {
    if (!this.defaultLoggers || this.loggers.length !== 1 || !(this.loggers[0] instanceof TensorBoardLogger)) return;
    const tb = this.loggers[0];
    const csv = new CSVLogger(tb.saveDir, { name: tb.name, version: tb.version });
    // The CSV writer warns about a non-empty version folder, so it creates the folder first.
    if (rankZeroOnly.isRankZero) void csv.experiment;
    this.loggers.push(csv);
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
    return this.fastDevRun !== false ? this.fastDevRun : this.maxStepsFlag;
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
    return this.callbacks.find((c): c is ProgressBar => defaultCallbacks.isProgressBar(c)) ?? null;
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
   * (trainer/messages.ts) are printed this way too.
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
  async fit(model: LightningModule, options: FitOptions = {}): Promise<void> {
    checkModel(model, "fit");
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
  async validate(model?: LightningModule | null, options: EvaluateOptions = {}): Promise<Array<Record<string, number>>> {
    return this.evaluate("validate", model, options);
  }

  /** Runs the test loop; returns the logged metrics, one object per dataloader, and prints them as a table. */
  async test(model?: LightningModule | null, options: EvaluateOptions = {}): Promise<Array<Record<string, number>>> {
    return this.evaluate("test", model, options);
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
  async predict(model?: LightningModule | null, options: PredictOptions = {}): Promise<unknown[] | unknown[][] | null> {
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
    const fn = this.state.fn!;
    if (fn === "fit") this.parseLoopLimits();
    // Attach the model.
    if (this._model !== null && this._model !== model) moduleInternals(this._model).trainer = null;
    this._model = model;
    moduleInternals(model).trainer = this;
    await this._callbackConnector.attachModelCallbacks();
    this.verifyLoopConfigurations(model, fn);
    await this._dataConnector.prepareData();

    // Set up.
    if (!this.strategy.isEnvironmentReady()) await this.strategy.setupEnvironment();
    this.connectResultSync();
    this.completeDefaultLoggers();
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
    this.logHyperparams();
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

  /**
   * `this.log(..., { syncDist: true })` in multi-process runs: epoch values are reduced over the
   * processes through the strategy's all-reduce — summed for `sum` and `mean` (a mean as
   * Σ value·batchSize / Σ batchSize), the extreme for `max` and `min`.
   */
  private connectResultSync(): void {
    const strategy = this.strategy;
    const sync =
      strategy.worldSize > 1
        ? (value: number, op: "sum" | "max" | "min"): number => {
            const reduced = tf.tidy(() => strategy.allReduce(tf.scalar(value), op));
            const n = reduced.dataSync()[0];
            reduced.dispose();
            return n;
          }
        : null;
    const loops = [this.fitLoop.epochLoop.results, this.fitLoop.epochLoop.valLoop.results, this.validateLoop.results, this.testLoop.results];
    for (const results of loops) results.sync = sync;
  }

  /** Lightning's `_parse_loop_limits`. */
  private parseLoopLimits(): void {
    let maxEpochs = this.maxEpochsFlag;
    if (this.fastDevRun !== false) maxEpochs = 1;
    if (maxEpochs === null) {
      if (this.maxStepsFlag === -1) {
        rankZeroWarn("`maxEpochs` was not set. Setting it to 1000 epochs. To train without an epoch limit, set `maxEpochs: -1`.");
        maxEpochs = 1000;
      } else {
        maxEpochs = -1;
      }
    }
    let minEpochs = this.minEpochsFlag;
    if (minEpochs === null && this.minSteps !== null) minEpochs = 1;
    this.fitLoop.maxEpochs = maxEpochs;
    this.fitLoop.minEpochs = minEpochs ?? 0;
  }


  private verifyLoopConfigurations(model: LightningModule, fn: TrainerFnName): void {
    const base = LightningModule.prototype;
    if (fn === "fit") {
      const minimum =
        "Lightning `Trainer` expects as minimum a `trainingStep()`, `trainDataloader()` and `configureOptimizers()` to be defined.";
      if (!isOverridden("trainingStep", model, base)) throw new MisconfigurationError(`No \`trainingStep()\` method defined. ${minimum}`);
      if (!isOverridden("configureOptimizers", model, base)) throw new MisconfigurationError(`No \`configureOptimizers()\` method defined. ${minimum}`);
      const hasValLoader = this._dataConnector.fitValSource.isDefined();
      const hasValStep = isOverridden("validationStep", model, base);
      if (hasValLoader && !hasValStep && !this._dataConnector.fitValSource.isModule()) {
        rankZeroWarn("You passed in a `valDataloader` but have no `validationStep`. Skipping val loop.");
      }
      if (hasValStep && !hasValLoader) rankZeroWarn("You defined a `validationStep` but have no `valDataloader`. Skipping val loop.");
      if (!model.automaticOptimization) {
        if (this.gradientClipVal !== null && this.gradientClipVal > 0) {
          throw new MisconfigurationError(
            "Automatic gradient clipping is not supported for manual optimization. Remove `Trainer({ gradientClipVal })` or switch to automatic optimization.",
          );
        }
        if (this.accumulateGradBatches !== 1) {
          throw new MisconfigurationError(
            "Automatic gradient accumulation is not supported for manual optimization. Remove `Trainer({ accumulateGradBatches })` or switch to automatic optimization.",
          );
        }
      }
      return;
    }
    if (fn === "validate" || fn === "test") {
      const step = fn === "test" ? "testStep" : "validationStep";
      const source = fn === "test" ? this._dataConnector.testSource : this._dataConnector.validateSource;
      if (!isOverridden(step, model, base)) throw new MisconfigurationError(`No \`${step}()\` method defined to run \`Trainer.${fn}\`.`);
      if (!source.isDefined()) throw new MisconfigurationError(`No \`${fn === "test" ? "testDataloader" : "valDataloader"}()\` method defined to run \`Trainer.${fn}\`.`);
      return;
    }
    if (!this._dataConnector.predictSource.isDefined()) {
      throw new MisconfigurationError("No `predictDataloader()` method defined to run `Trainer.predict`.");
    }
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

  /** Between the closure and the optimizer's update: `onBeforeOptimizerStep`, then clipping (automatic optimisation). */
  private afterClosure(optimizer: Optimizer<any>): MaybePromise<void> {
    return sequence([
      () => callCallbackHooks(this, "onBeforeOptimizerStep", [optimizer]),
      () => callModuleHook(this, "onBeforeOptimizerStep", [optimizer]),
      () =>
        this.lightningModule.automaticOptimization
          ? callModuleHook(this, "configureGradientClipping", [optimizer, this.gradientClipVal, this.gradientClipAlgorithm])
          : undefined,
    ]);
  }

  /** Lightning's `_log_hyperparams`: the module's (and datamodule's) hyperparameters to every logger. */
  private logHyperparams(): void {
    if (this.loggers.length === 0) return;
    const module = this.lightningModule;
    const dm = this.datamodule;
    const moduleLog = hparamsState(module).log;
    const dmLog = dm !== null && hparamsState(dm).log;
    let hparams: Record<string, unknown> | null = null;
    if (moduleLog && dmLog) {
      const a = module.hparamsInitial;
      const b = dm!.hparamsInitial;
      const inconsistent = Object.keys(a).filter((k) => k in b && JSON.stringify(a[k]) !== JSON.stringify(b[k]));
      if (inconsistent.length > 0) {
        throw new Error(
          `Error while merging hparams: the keys [${inconsistent.join(", ")}] are present in both the LightningModule's and ` +
            "LightningDataModule's hparams but have different values.",
        );
      }
      hparams = { ...a, ...b };
    } else if (moduleLog) hparams = module.hparamsInitial;
    else if (dmLog) hparams = dm!.hparamsInitial;
    for (const logger of this.loggers) {
      if (hparams !== null) logger.logHyperparams(hparams);
      logger.logGraph(module);
      logger.save();
    }
  }

  private async runStage(): Promise<unknown> {
    await this.strategy.barrier("run-stage");
    this.lightningModule.zeroGrad();
    const fn = this.state.fn;
    if (fn === "validate") return this.validateLoop.run();
    if (fn === "test") return this.testLoop.run();
    if (fn === "predict") return this.predictLoop.run();
    // The sanity check must not change the training run: it draws from no random stream.
    const rng = getRngState();
    try {
      await this.runSanityCheck();
    } finally {
      setRngState(rng);
    }
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
