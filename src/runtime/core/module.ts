/**
 * `LightningModule` (Lightning's `lightning.pytorch.LightningModule`): an `nn.Module` that also
 * says how to train, validate, test and predict with itself, and which optimizers to use. The
 * Trainer runs the loops; the module fills in the steps and, optionally, any of the hooks.
 *
 *   class NetModule extends LightningModule {
 *     model = new Net();
 *     forward(x: tf.Tensor) { return this.model.forward(x); }
 *     trainingStep([x, y]: [tf.Tensor, tf.Tensor], batchIdx: number) {
 *       const loss = F.crossEntropy(this.forward(x), y);
 *       this.log("train_loss", loss);
 *       return loss;
 *     }
 *     configureOptimizers() { return new optim.Adam(this.parameters(), { lr: 1e-3 }); }
 *     trainDataloader() { return new data.DataLoader(dataset, { batchSize: 64, shuffle: true }); }
 *   }
 *
 * Every hook may be async. Hooks and steps of one batch run inside that batch's step scope
 * (docs/architecture.md): tensors created there are disposed when the batch ends unless
 * `tf.keep`-ed, exactly as in a plain loop over a DataLoader.
 */
import { tf } from "../../torch/tf.ts";
import { Module } from "../../torch/nn/module.ts";
import { Device } from "../../torch/device.ts";
import { Optimizer } from "../../torch/optim/optimizer.ts";
import type { LRScheduler } from "../../torch/optim/lr_scheduler/lr_scheduler.ts";
import { backward as coreBackward, type BackwardOptions } from "../../torch/autograd/backward.ts";
import { load } from "../../torch/serialization/index.ts";
import { MisconfigurationError } from "../errors.ts";
import type { Logger } from "../loggers/logger.ts";
import { rankZeroWarn } from "../utilities/rank_zero.ts";
import { moveDataToDevice, isTensor } from "../utilities/move_data_to_device.ts";
import { applyToCollection } from "../utilities/apply_to_collection.ts";
import { describeValue } from "../utilities/describe.ts";
import type { Callback } from "../callbacks/callback.ts";
import type { Trainer } from "../trainer/trainer.ts";
import type { TrainerFnName } from "../trainer/states.ts";
import type { Checkpoint } from "../trainer/connectors/checkpoint_connector.ts";
import type { DataSource } from "../trainer/connectors/data_connector.ts";
import { checkLoggingAndGetDefaultLevels } from "../trainer/connectors/logger_connector/fx_validator.ts";
import { REDUCE_FXS, type ReduceFx } from "../trainer/connectors/logger_connector/result.ts";
import type { CheckpointHooks, DataHooks, ModelHooks, MaybePromise } from "./hooks.ts";
import { LightningOptimizer, allParams, type OptimizersConfig } from "./optimizer.ts";
import { hparamsState, saveHyperparameters, deepCopy, type SaveHyperparametersOptions } from "./hparams.ts";
import { tensorsIn } from "./tensors.ts";

/** Options of `this.log` (Lightning's keyword arguments, camelCase). */
export interface LogOptions {
  /** Show in the progress bar (default false). */
  progBar?: boolean;
  /** Send to the loggers (default true). */
  logger?: boolean;
  /** Record the value of each step (default: true in training hooks, false in evaluation hooks). */
  onStep?: boolean;
  /** Aggregate over the epoch (default: false in training hooks, true in evaluation hooks). */
  onEpoch?: boolean;
  /** How the epoch value is aggregated: "mean" (weighted by batch size, default), "sum", "max", "min". */
  reduceFx?: ReduceFx | "avg";
  /** Reduce the epoch value over processes (distributed runs). */
  syncDist?: boolean;
  /** Batch size for the weighted mean (default: inferred from the batch). */
  batchSize?: number;
  /** Suffix `/dataloader_idx_N` with several evaluation dataloaders (default true). */
  addDataloaderIdx?: boolean;
  /** Log only from rank 0 (the value is then not reduced or compared across processes). */
  rankZeroOnly?: boolean;
}

export type GradientClipAlgorithm = "norm" | "value";

/** Per-module state the Trainer uses, kept off the module's enumerable properties (so `stateDict()` and `namedChildren()` never see it). */
export interface ModuleInternals {
  trainer: Trainer | null;
  /** The hook running now (`this.log` checks where it is called from). */
  currentFxName: string | null;
  /** `requiresGrad` of every optimizer's parameters before `toggleOptimizer`. */
  toggled: Map<tf.Variable, boolean>;
}

const INTERNALS = Symbol.for("lightning-ts.lightningModule");

export function moduleInternals(module: LightningModule): ModuleInternals {
  const m = module as unknown as { [INTERNALS]?: ModuleInternals };
  return (m[INTERNALS] ??= { trainer: null, currentFxName: null, toggled: new Map() });
}

export abstract class LightningModule extends Module implements ModelHooks, DataHooks, CheckpointHooks {
  /**
   * True (default): the Trainer runs zero_grad → backward → optimizer step for you. False: you
   * do it in `trainingStep` with `this.optimizers()`, `this.manualBackward(loss)`, `opt.step()`.
   */
  automaticOptimization = true;
  /** Call `prepareData` once per node (true) or once in total (false). */
  prepareDataPerNode = true;
  /** Whether checkpoints must match the model's keys exactly when loaded. */
  strictLoading = true;
  /** Hyperparameters saved with `saveHyperparameters` (also in checkpoints and `hparams.yaml`). */
  hparams: Record<string, any> = {};

  // ---------------------------------------------------------------------------------------
  // Trainer access

  /** The Trainer running this module; an error when none is attached. */
  get trainer(): Trainer {
    const t = moduleInternals(this).trainer;
    if (t === null) throw new Error(`${this.constructor.name} is not attached to a \`Trainer\`.`);
    return t;
  }

  /** Whether a Trainer is attached (reading `trainer` throws otherwise). */
  get hasTrainer(): boolean {
    return moduleInternals(this).trainer !== null;
  }

  /** The epoch being trained (0-based), 0 without a Trainer. */
  get currentEpoch(): number {
    return moduleInternals(this).trainer?.currentEpoch ?? 0;
  }

  /** Optimizer steps taken so far, 0 without a Trainer. */
  get globalStep(): number {
    return moduleInternals(this).trainer?.globalStep ?? 0;
  }

  /** The device the Trainer's strategy computes on (`cpu` without a Trainer). */
  get device(): Device {
    return moduleInternals(this).trainer?.strategy.rootDevice ?? new Device("cpu");
  }

  get onGpu(): boolean {
    return this.device.isGpu;
  }

  get globalRank(): number {
    return moduleInternals(this).trainer?.globalRank ?? 0;
  }

  get localRank(): number {
    return moduleInternals(this).trainer?.localRank ?? 0;
  }

  /** The Trainer's first logger (null without one). */
  get logger(): Logger | null {
    return moduleInternals(this).trainer?.logger ?? null;
  }

  get loggers(): Logger[] {
    return moduleInternals(this).trainer?.loggers ?? [];
  }

  /** `print` on rank 0 only (through the progress bar when it has a `print`, so lines do not break it). */
  print(...args: unknown[]): void {
    const t = moduleInternals(this).trainer;
    if (t !== null && !t.isGlobalZero) return;
    const bar = t?.progressBarCallback as { print?: (...a: unknown[]) => void } | null | undefined;
    if (bar && typeof bar.print === "function") bar.print(...args);
    else console.log(...args);
  }

  // ---------------------------------------------------------------------------------------
  // Steps

  /** One training step: return the loss (a scalar tensor), `{ loss, ...extra }`, or nothing to skip the batch. */
  trainingStep(_batch: any, _batchIdx: number): MaybePromise<tf.Tensor | { loss: tf.Tensor; [key: string]: unknown } | void | null> {
    throw new MisconfigurationError("`trainingStep` must be implemented to be used with the Lightning Trainer");
  }

  /** One validation step (run without gradients, in eval mode). The third argument is given with several val dataloaders. */
  validationStep(_batch: any, _batchIdx: number, _dataloaderIdx?: number): MaybePromise<unknown> {
    rankZeroWarn("`validationStep` must be implemented to be used with the Lightning Trainer");
    return undefined;
  }

  /** One test step (run without gradients, in eval mode). */
  testStep(_batch: any, _batchIdx: number, _dataloaderIdx?: number): MaybePromise<unknown> {
    rankZeroWarn("`testStep` must be implemented to be used with the Lightning Trainer");
    return undefined;
  }

  /** One prediction step; by default `this.forward(batch)`. */
  predictStep(batch: any, _batchIdx: number, _dataloaderIdx?: number): MaybePromise<unknown> {
    return this.forward(batch);
  }

  /**
   * Optimizers and schedulers. Any of Lightning's shapes: an optimizer; a list of optimizers;
   * `[[optimizers], [schedulers]]`; `{ optimizer, lrScheduler?, monitor? }` where `lrScheduler`
   * is a scheduler or `{ scheduler, interval: "epoch" | "step", frequency, monitor, strict, name }`;
   * or a list of such objects (several optimizers need `automaticOptimization = false`).
   */
  configureOptimizers(): MaybePromise<OptimizersConfig> {
    rankZeroWarn("`configureOptimizers` must be implemented to be used with the Lightning Trainer");
    return undefined;
  }

  /** Callbacks that belong to this model; they replace Trainer callbacks of the same class. */
  configureCallbacks(): MaybePromise<Callback | Callback[]> {
    return [];
  }

  // ---------------------------------------------------------------------------------------
  // Logging

  /**
   * Records a metric. In training hooks the default is one value per step (`onStep`); in
   * validation/test hooks one value per epoch (`onEpoch`, the mean over the epoch weighted by
   * batch size). With both, the loggers see `name_step` and `name_epoch`. Values are read when
   * logged (the tensor may be disposed afterwards).
   */
  log(name: string, value: number | tf.Tensor, options: LogOptions = {}): void {
    if (typeof name !== "string" || name.length === 0) {
      throw new MisconfigurationError(`this.log(): the name must be a non-empty string, got ${describeValue(name)}`);
    }
    if (typeof value === "number" || typeof value === "boolean") {
      value = Number(value);
    } else if (value instanceof tf.Tensor) {
      if (value.size !== 1) {
        throw new Error(
          `\`this.log(${name}, value)\` was called, but the tensor must have a single element (it has shape [${value.shape}]). ` +
            `You can try doing \`this.log(${name}, value.mean())\``,
        );
      }
      if (value.isDisposed) throw new Error(`\`this.log(${name}, value)\` was called with a disposed tensor`);
    } else if (value !== null && typeof value === "object" && !Array.isArray(value)) {
      throw new MisconfigurationError(`\`this.log(${name}, value)\` was called with an object: use \`this.logDict(...)\` to log several values`);
    } else {
      throw new MisconfigurationError(`\`this.log(${name}, ${describeValue(value)})\` was called, but ${typeof value} values cannot be logged`);
    }
    const internals = moduleInternals(this);
    const trainer = internals.trainer;
    if (trainer === null) {
      // Not an error: it lets `trainingStep` be tested without a Trainer.
      rankZeroWarn(
        "You are trying to `this.log()` but the `this.trainer` reference is not registered on the model yet. " +
          "This is most likely because the model hasn't been passed to the `Trainer`",
      );
      return;
    }
    const results = trainer._results;
    if (results === null) {
      throw new MisconfigurationError(
        "You are trying to `this.log()` but the loop's result collection is not registered yet. This is most likely " +
          "because you are trying to log in a `predict` hook, but it doesn't support logging",
      );
    }
    const fx = internals.currentFxName;
    if (fx === null) throw new MisconfigurationError("You are trying to `this.log()` but it is not managed by the `Trainer` control flow");
    const { onStep, onEpoch } = checkLoggingAndGetDefaultLevels(fx, options.onStep, options.onEpoch);
    if (name.includes("/dataloader_idx_")) {
      throw new MisconfigurationError(
        `You called \`this.log\` with the key \`${name}\` but it should not contain information about \`dataloader_idx\``,
      );
    }
    let reduceFx = (options.reduceFx ?? "mean").toLowerCase();
    if (reduceFx === "avg") reduceFx = "mean";
    if (!REDUCE_FXS.includes(reduceFx as ReduceFx)) {
      throw new MisconfigurationError(`Only \`this.log(..., { reduceFx: "min" | "max" | "mean" | "sum" })\` are supported. Found ${options.reduceFx}`);
    }
    let logger = options.logger ?? true;
    if (options.logger === true && trainer.loggers.length === 0) {
      rankZeroWarn(
        `You called \`this.log('${name}', ..., { logger: true })\` but have no logger configured. You can enable one by ` +
          "doing `new Trainer({ logger: new ALogger(...) })`.",
      );
      logger = false;
    }
    results.log(fx, name, value, {
      progBar: options.progBar ?? false,
      logger,
      onStep,
      onEpoch,
      reduceFx: reduceFx as ReduceFx,
      syncDist: (options.syncDist ?? false) && trainer.worldSize > 1,
      addDataloaderIdx: options.addDataloaderIdx ?? true,
      batchSize: options.batchSize,
      rankZeroOnly: options.rankZeroOnly ?? false,
    });
  }

  /** `this.log` for each entry of `dict`, with the same options. */
  logDict(dict: Record<string, number | tf.Tensor>, options: LogOptions = {}): void {
    for (const [k, v] of Object.entries(dict)) this.log(k, v, options);
  }

  // ---------------------------------------------------------------------------------------
  // Hyperparameters

  /**
   * Saves hyperparameters into `this.hparams` (and so into checkpoints and `hparams.yaml`): an
   * object (`this.saveHyperparameters(args)`), a list of property names, or — with nothing — the
   * plain-data properties set so far (in a constructor: the constructor's parameter properties).
   */
  saveHyperparameters(hparams?: Record<string, unknown> | string[] | string | null, options: SaveHyperparametersOptions = {}): void {
    saveHyperparameters(this, hparams, options);
  }

  /** The hyperparameters as first saved (what the loggers receive). */
  get hparamsInitial(): Record<string, any> {
    return deepCopy(hparamsState(this).initial);
  }

  // ---------------------------------------------------------------------------------------
  // Optimisation

  /**
   * The optimizers from `configureOptimizers`, wrapped as `LightningOptimizer`s (their `step()`
   * goes through the strategy and precision plugin): the one optimizer, or a list of them.
   * The type allows both `const opt = this.optimizers()` and `const [g, d] = this.optimizers()`.
   */
  optimizers(usePlOptimizer?: true): LightningOptimizer & LightningOptimizer[];
  optimizers(usePlOptimizer: false): Optimizer<any> & Optimizer<any>[];
  optimizers(usePlOptimizer = true): unknown {
    const trainer = this.trainer;
    const opts: unknown[] = usePlOptimizer ? trainer._lightningOptimizers : trainer.optimizers;
    return opts.length === 1 ? opts[0] : opts;
  }

  /** The schedulers from `configureOptimizers`: the one scheduler, a list, or null when there are none. */
  lrSchedulers(): (LRScheduler & LRScheduler[]) | null {
    const configs = this.trainer.lrSchedulerConfigs;
    if (configs.length === 0) return null;
    const s = configs.map((c) => c.scheduler);
    return (s.length === 1 ? s[0] : s) as LRScheduler & LRScheduler[];
  }

  /**
   * Manual optimisation's `loss.backward()`: runs the backward hooks, writes the loss trace, and
   * backpropagates through the strategy and precision plugin. Synchronous unless a backward hook
   * is async (then await it).
   */
  manualBackward(loss: tf.Tensor, options: Omit<BackwardOptions, "trace"> = {}): MaybePromise<void> {
    this.verifyManualOptimization("manualBackward");
    if (!(loss instanceof tf.Tensor)) throw new TypeError(`manualBackward(): the loss must be a tensor, got ${describeValue(loss)}`);
    return this.trainer._backward(loss, loss, options);
  }

  /**
   * How a loss is backpropagated (Lightning's `backward` hook): override to customise. The
   * default is the autograd backward (the Trainer has already written the loss trace).
   */
  backward(loss: tf.Tensor, options: Omit<BackwardOptions, "trace"> = {}): MaybePromise<void> {
    coreBackward(loss, { ...options, trace: false });
  }

  /**
   * Makes only `optimizer`'s parameters require gradients (for a GAN: train G with D frozen);
   * `untoggleOptimizer` restores what was there before.
   */
  toggleOptimizer(optimizer: Optimizer<any> | LightningOptimizer): void {
    const opt = optimizer instanceof LightningOptimizer ? optimizer.optimizer : optimizer;
    const saved = new Map<tf.Variable, boolean>();
    for (const o of this.trainer.optimizers) {
      for (const p of allParams(o)) {
        if (saved.has(p)) continue;
        saved.set(p, p.trainable);
        setTrainable(p, false);
      }
    }
    for (const p of allParams(opt)) setTrainable(p, saved.get(p) ?? true);
    moduleInternals(this).toggled = saved;
  }

  untoggleOptimizer(optimizer: Optimizer<any> | LightningOptimizer): void {
    const opt = optimizer instanceof LightningOptimizer ? optimizer.optimizer : optimizer;
    const saved = moduleInternals(this).toggled;
    for (const o of this.trainer.optimizers) {
      if (o === opt) continue;
      for (const p of allParams(o)) {
        const v = saved.get(p);
        if (v !== undefined) setTrainable(p, v);
      }
    }
    moduleInternals(this).toggled = new Map();
  }

  /**
   * Clips the gradients of `optimizer`'s parameters: by their total 2-norm (`"norm"`, default)
   * or elementwise (`"value"`). Nothing happens when `gradientClipVal` is undefined or ≤ 0.
   */
  clipGradients(
    optimizer: Optimizer<any> | LightningOptimizer,
    options: { gradientClipVal?: number | null; gradientClipAlgorithm?: GradientClipAlgorithm | null } = {},
  ): void {
    const { gradientClipVal } = options;
    if (gradientClipVal === undefined || gradientClipVal === null) return;
    const algorithm = options.gradientClipAlgorithm ?? "norm";
    if (algorithm !== "norm" && algorithm !== "value") {
      throw new MisconfigurationError(`\`gradientClipAlgorithm\` ${String(algorithm)} is invalid. Allowed algorithms: ['value', 'norm'].`);
    }
    if (typeof gradientClipVal !== "number" || Number.isNaN(gradientClipVal)) {
      throw new TypeError(`\`gradientClipVal\` should be a number. Got ${describeValue(gradientClipVal)}.`);
    }
    if (gradientClipVal <= 0) return;
    const opt = optimizer instanceof LightningOptimizer ? optimizer.optimizer : optimizer;
    const strategy = this.trainer.strategy;
    if (algorithm === "value") strategy.clipGradientsValue(this, opt, gradientClipVal);
    else strategy.clipGradientsNorm(this, opt, gradientClipVal, 2, false);
  }

  /**
   * Called before each optimizer step in automatic optimisation with the Trainer's
   * `gradientClipVal` / `gradientClipAlgorithm`; override for custom clipping.
   */
  configureGradientClipping(
    optimizer: Optimizer<any>,
    gradientClipVal?: number | null,
    gradientClipAlgorithm?: GradientClipAlgorithm | null,
  ): MaybePromise<void> {
    this.clipGradients(optimizer, { gradientClipVal, gradientClipAlgorithm });
  }

  /**
   * The optimizer step of automatic optimisation: override to change how/when it steps (call
   * `optimizer.step(optimizerClosure)` — the closure runs the training step and backward).
   */
  optimizerStep(
    _epoch: number,
    _batchIdx: number,
    optimizer: LightningOptimizer,
    optimizerClosure?: () => unknown,
  ): MaybePromise<unknown> {
    return optimizer.step(optimizerClosure);
  }

  /** How gradients are cleared in automatic optimisation (`optimizer.zeroGrad()`). */
  optimizerZeroGrad(_epoch: number, _batchIdx: number, optimizer: Optimizer<any>): MaybePromise<void> {
    optimizer.zeroGrad();
  }

  /** How a scheduler is stepped (`scheduler.step(metric)` for plateau schedulers). */
  lrSchedulerStep(scheduler: LRScheduler, metric: number | null): MaybePromise<void> {
    if (metric === null || metric === undefined) scheduler.step();
    else (scheduler.step as (m?: number) => void)(metric);
  }

  /** Gathers a tensor (or a collection of tensors/numbers) from every process, stacked on a new leading dimension. */
  allGather<T>(data: T, options: { syncGrads?: boolean } = {}): T {
    const strategy = this.trainer.strategy;
    return applyToCollection(
      data,
      (x) => isTensor(x) || typeof x === "number",
      (x: tf.Tensor | number) => strategy.allGather(typeof x === "number" ? tf.scalar(x) : x, options.syncGrads ?? false),
    );
  }

  /** Freezes every parameter and switches to eval mode. */
  freeze(): void {
    for (const p of this.parameters()) setTrainable(p, false);
    this.eval();
  }

  /** Makes every parameter trainable and switches to training mode. */
  unfreeze(): void {
    for (const p of this.parameters()) setTrainable(p, true);
    this.train();
  }

  private verifyManualOptimization(fn: string): void {
    if (this.automaticOptimization) {
      throw new MisconfigurationError(
        `to use ${fn}, please disable automatic optimization: set model property \`automaticOptimization = false\``,
      );
    }
  }

  // ---------------------------------------------------------------------------------------
  // Model hooks (Lightning's defaults)

  onFitStart(): MaybePromise<void> {}
  onFitEnd(): MaybePromise<void> {}
  onTrainStart(): MaybePromise<void> {}
  onTrainEnd(): MaybePromise<void> {}
  onValidationStart(): MaybePromise<void> {}
  onValidationEnd(): MaybePromise<void> {}
  onTestStart(): MaybePromise<void> {}
  onTestEnd(): MaybePromise<void> {}
  onPredictStart(): MaybePromise<void> {}
  onPredictEnd(): MaybePromise<void> {}
  /** Return -1 to skip the rest of this epoch. */
  onTrainBatchStart(_batch: any, _batchIdx: number): MaybePromise<void | number> {}
  onTrainBatchEnd(_outputs: unknown, _batch: any, _batchIdx: number): MaybePromise<void> {}
  onValidationBatchStart(_batch: any, _batchIdx: number, _dataloaderIdx: number): MaybePromise<void> {}
  onValidationBatchEnd(_outputs: unknown, _batch: any, _batchIdx: number, _dataloaderIdx: number): MaybePromise<void> {}
  onTestBatchStart(_batch: any, _batchIdx: number, _dataloaderIdx: number): MaybePromise<void> {}
  onTestBatchEnd(_outputs: unknown, _batch: any, _batchIdx: number, _dataloaderIdx: number): MaybePromise<void> {}
  onPredictBatchStart(_batch: any, _batchIdx: number, _dataloaderIdx: number): MaybePromise<void> {}
  onPredictBatchEnd(_outputs: unknown, _batch: any, _batchIdx: number, _dataloaderIdx: number): MaybePromise<void> {}
  /** Clears gradients before an in-training validation (memory), as Lightning. */
  onValidationModelZeroGrad(): MaybePromise<void> {
    this.zeroGrad();
  }
  /** Switches to eval mode for validation (by default the loop saves every submodule's mode and restores it afterwards). */
  onValidationModelEval(): MaybePromise<void> {
    this.eval();
  }
  onValidationModelTrain(): MaybePromise<void> {
    this.train();
  }
  onTestModelEval(): MaybePromise<void> {
    this.eval();
  }
  onTestModelTrain(): MaybePromise<void> {
    this.train();
  }
  onPredictModelEval(): MaybePromise<void> {
    this.eval();
  }
  onTrainEpochStart(): MaybePromise<void> {}
  onTrainEpochEnd(): MaybePromise<void> {}
  onValidationEpochStart(): MaybePromise<void> {}
  onValidationEpochEnd(): MaybePromise<void> {}
  onTestEpochStart(): MaybePromise<void> {}
  onTestEpochEnd(): MaybePromise<void> {}
  onPredictEpochStart(): MaybePromise<void> {}
  onPredictEpochEnd(): MaybePromise<void> {}
  onBeforeZeroGrad(_optimizer: Optimizer<any>): MaybePromise<void> {}
  onBeforeBackward(_loss: tf.Tensor): MaybePromise<void> {}
  onAfterBackward(): MaybePromise<void> {}
  onBeforeOptimizerStep(_optimizer: Optimizer<any>): MaybePromise<void> {}
  configureModel(): MaybePromise<void> {}

  // ---------------------------------------------------------------------------------------
  // Data hooks

  prepareData(): MaybePromise<void> {}
  setup(_stage: TrainerFnName): MaybePromise<void> {}
  teardown(_stage: TrainerFnName): MaybePromise<void> {}
  trainDataloader(): MaybePromise<DataSource> {
    throw new MisconfigurationError("`trainDataloader` must be implemented to be used with the Lightning Trainer");
  }
  valDataloader(): MaybePromise<DataSource | DataSource[]> {
    throw new MisconfigurationError("`valDataloader` must be implemented to be used with the Lightning Trainer");
  }
  testDataloader(): MaybePromise<DataSource | DataSource[]> {
    throw new MisconfigurationError("`testDataloader` must be implemented to be used with the Lightning Trainer");
  }
  predictDataloader(): MaybePromise<DataSource | DataSource[]> {
    throw new MisconfigurationError("`predictDataloader` must be implemented to be used with the Lightning Trainer");
  }
  /** Moves a batch to `device` (tensors live on the active backend, so this is usually the batch itself). */
  transferBatchToDevice(batch: any, device: Device, _dataloaderIdx: number): any {
    return moveDataToDevice(batch, device);
  }
  onBeforeBatchTransfer(batch: any, _dataloaderIdx: number): any {
    return batch;
  }
  onAfterBatchTransfer(batch: any, _dataloaderIdx: number): any {
    return batch;
  }

  // ---------------------------------------------------------------------------------------
  // Checkpoint hooks

  onLoadCheckpoint(_checkpoint: Checkpoint): MaybePromise<void> {}
  onSaveCheckpoint(_checkpoint: Checkpoint): MaybePromise<void> {}

  /**
   * Builds the module from a checkpoint written by the Trainer and loads its weights. The
   * constructor gets `options.args`, by default the saved hyperparameters as its one argument
   * (what `constructor(hparams) { super(); this.saveHyperparameters(hparams); }` expects).
   */
  static async loadFromCheckpoint<T extends LightningModule>(
    this: new (...args: any[]) => T,
    path: string,
    options: { args?: unknown[]; strict?: boolean } = {},
  ): Promise<T> {
    const checkpoint = await load<Checkpoint>(path);
    try {
      const saved = checkpoint.hyperParameters as Record<string, unknown> | undefined;
      const args = options.args ?? (saved && Object.keys(saved).length > 0 ? [saved] : []);
      const model = new this(...args);
      await model.onLoadCheckpoint(checkpoint);
      if (!checkpoint.stateDict) throw new Error(`loadFromCheckpoint(): ${path} has no 'stateDict' entry`);
      model.loadStateDict(checkpoint.stateDict as Record<string, tf.Tensor>, { strict: options.strict ?? model.strictLoading });
      return model;
    } finally {
      for (const t of tensorsIn(checkpoint)) if (!t.isDisposed) t.dispose();
    }
  }
}

function setTrainable(p: tf.Variable, on: boolean): void {
  (p as unknown as { trainable: boolean }).trainable = on;
}

/** Whether `obj` overrides `method` of `base` (Lightning's `is_overridden`). */
export function isOverridden(method: string, obj: object | null | undefined, base: object): boolean {
  if (obj === null || obj === undefined) return false;
  const own = (obj as Record<string, unknown>)[method];
  const parent = (base as Record<string, unknown>)[method];
  return typeof own === "function" && own !== parent;
}
