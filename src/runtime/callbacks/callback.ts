/**
 * `Callback`: Lightning's `lightning.pytorch.callbacks.Callback`, hook names in camelCase.
 *
 * A callback is a self-contained piece of training logic (checkpointing, early stopping, a
 * progress bar, learning-rate logging) that the Trainer calls at fixed points. Subclass it and
 * override the hooks you need; every hook may be `async` (the Trainer awaits it) and the ones
 * you do not override cost nothing (the Trainer skips hooks still equal to this base class's).
 *
 * For callback authors — what the Trainer guarantees:
 *
 * - Hooks receive `(trainer, pl_module, ...)` exactly as in Lightning; the batch hooks get
 *   `(trainer, module, batch, batchIdx)` at start and `(trainer, module, outputs, batch, batchIdx)`
 *   at end; the validation/test/predict ones add `dataloaderIdx` (always passed, 0 for a single
 *   loader). `outputs` of `onTrainBatchEnd` is `{ loss, ...extra }` with `loss` detached (and
 *   divided by `accumulateGradBatches`, as in Lightning), or `{}` when `trainingStep` returned
 *   nothing.
 * - Order per hook: callbacks in list order (checkpoint callbacks moved last, as Lightning
 *   does), then the LightningModule's hook. At the end of a training epoch the non-monitoring
 *   callbacks run first, then `LightningModule.onTrainEpochEnd`, then the monitoring ones
 *   (those whose `isMonitoringCallback` is true: checkpointing and early stopping), so they see
 *   metrics logged in the module's `onTrainEpochEnd`.
 * - Batch hooks run inside the batch's step scope (docs/architecture.md): tensors you create
 *   there are disposed when the next batch starts; `tf.keep` what must live longer.
 * - `this.log(...)` on `pl_module` works from a callback hook with the same per-hook rules as
 *   from the module's hook of the same name.
 * - Exceptions: `onException(trainer, module, error)` is called on every callback, then the
 *   loggers are finalized with `"failed"` and the error is re-thrown.
 *
 * Trainer members a callback can rely on (all camelCase Lightning names):
 *   `trainer.callbackMetrics`, `loggedMetrics`, `progressBarMetrics` (plain numbers, not tensors),
 *   `currentEpoch`, `globalStep`, `maxEpochs`, `maxSteps`, `minEpochs`, `minSteps`,
 *   `numTrainingBatches`, `numValBatches` (one per val dataloader), `numSanityValBatches`,
 *   `numTestBatches`, `numPredictBatches`, `valCheckInterval`, `valCheckBatch`,
 *   `checkValEveryNEpoch`, `logEveryNSteps`, `fastDevRun` (false or the number of batches: skip
 *   checkpointing/early stopping when set, as Lightning's callbacks do), `sanityChecking`,
 *   `training` / `validating` / `testing` / `predicting`, `state` (`{ fn, stage, status }`),
 *   `isGlobalZero`, `globalRank`, `localRank`, `worldSize`, `logger` / `loggers`, `logDir`,
 *   `defaultRootDir`, `shouldStop` (settable: request a stop), `callbacks`,
 *   `checkpointCallback` / `checkpointCallbacks`, `progressBarCallback`, `lightningModule`,
 *   `datamodule`, `optimizers`, `lrSchedulerConfigs`, `strategy`, `precisionPlugin`,
 *   `profiler`, `enableProgressBar` (whether a progress bar is wanted), `enableModelSummary`,
 *   `trainDataloader`, `valDataloaders`, `testDataloaders`, `predictDataloaders`,
 *   `await trainer.saveCheckpoint(path, weightsOnly?)` (atomic, rank 0 writes), `trainer.print(...)`.
 *
 * State: `stateKey` names this callback's entry in a checkpoint's `callbacks` (override it,
 * e.g. with `generateStateKey({ monitor, mode })`, when several instances of one class can
 * coexist); `stateDict()` / `loadStateDict()` are saved and restored with checkpoints, and
 * `onSaveCheckpoint` / `onLoadCheckpoint` see the whole checkpoint object.
 */
import type { tf } from "../../torch/tf.ts";
import type { Optimizer } from "../../torch/optim/optimizer.ts";
import type { LightningModule } from "../core/module.ts";
import type { Trainer } from "../trainer/trainer.ts";
import type { Checkpoint as CheckpointDict } from "../trainer/connectors/checkpoint_connector.ts";
import type { TrainerFnName } from "../trainer/states.ts";
import { pyRepr } from "../utilities/python_format.ts";

/** What a hook returns: nothing, or a promise of nothing. */
export type HookResult = void | Promise<void>;

/** The `outputs` of a training batch as `onTrainBatchEnd` receives them. */
export type TrainBatchOutputs = { loss?: tf.Tensor; [key: string]: unknown };

export abstract class Callback {
  /**
   * The key of this callback's state in a checkpoint's `callbacks` entry. Default: the class
   * name. Callbacks that can be used several times with different settings return a key that
   * includes those settings (see `generateStateKey`), as Lightning's `state_key`.
   */
  get stateKey(): string {
    return this.constructor.name;
  }

  /**
   * Whether this callback decides on metrics the module logs at the end of an epoch
   * (checkpointing, early stopping). Those run after `LightningModule.onTrainEpochEnd`.
   */
  get isMonitoringCallback(): boolean {
    return false;
  }

  /** `"ClassName{'monitor': 'val_loss', 'mode': 'min'}"`: Lightning's `_generate_state_key`. */
  protected generateStateKey(settings: Record<string, unknown>): string {
    const body = Object.entries(settings)
      .map(([k, v]) => `${pyRepr(k)}: ${pyRepr(v)}`)
      .join(", ");
    return `${this.constructor.name}{${body}}`;
  }

  // --- setup / teardown -------------------------------------------------------------------
  /** Called when fit, validate, test or predict begins (after the datamodule's and before the module's `setup`). */
  setup(_trainer: Trainer, _module: LightningModule, _stage: TrainerFnName): HookResult {}
  /** Called when fit, validate, test or predict ends. */
  teardown(_trainer: Trainer, _module: LightningModule, _stage: TrainerFnName): HookResult {}

  // --- fit ---------------------------------------------------------------------------------
  onFitStart(_trainer: Trainer, _module: LightningModule): HookResult {}
  onFitEnd(_trainer: Trainer, _module: LightningModule): HookResult {}
  onSanityCheckStart(_trainer: Trainer, _module: LightningModule): HookResult {}
  onSanityCheckEnd(_trainer: Trainer, _module: LightningModule): HookResult {}

  // --- training ----------------------------------------------------------------------------
  onTrainStart(_trainer: Trainer, _module: LightningModule): HookResult {}
  onTrainEnd(_trainer: Trainer, _module: LightningModule): HookResult {}
  onTrainEpochStart(_trainer: Trainer, _module: LightningModule): HookResult {}
  /**
   * End of a training epoch. To aggregate per-batch values, collect them in `onTrainBatchEnd`
   * (as plain numbers, or `tf.keep`-ed tensors) and reduce them here.
   */
  onTrainEpochEnd(_trainer: Trainer, _module: LightningModule): HookResult {}
  onTrainBatchStart(_trainer: Trainer, _module: LightningModule, _batch: unknown, _batchIdx: number): HookResult {}
  onTrainBatchEnd(
    _trainer: Trainer,
    _module: LightningModule,
    _outputs: TrainBatchOutputs,
    _batch: unknown,
    _batchIdx: number,
  ): HookResult {}

  // --- validation --------------------------------------------------------------------------
  onValidationStart(_trainer: Trainer, _module: LightningModule): HookResult {}
  onValidationEnd(_trainer: Trainer, _module: LightningModule): HookResult {}
  onValidationEpochStart(_trainer: Trainer, _module: LightningModule): HookResult {}
  onValidationEpochEnd(_trainer: Trainer, _module: LightningModule): HookResult {}
  onValidationBatchStart(
    _trainer: Trainer,
    _module: LightningModule,
    _batch: unknown,
    _batchIdx: number,
    _dataloaderIdx: number,
  ): HookResult {}
  onValidationBatchEnd(
    _trainer: Trainer,
    _module: LightningModule,
    _outputs: unknown,
    _batch: unknown,
    _batchIdx: number,
    _dataloaderIdx: number,
  ): HookResult {}

  // --- test ----------------------------------------------------------------------------------
  onTestStart(_trainer: Trainer, _module: LightningModule): HookResult {}
  onTestEnd(_trainer: Trainer, _module: LightningModule): HookResult {}
  onTestEpochStart(_trainer: Trainer, _module: LightningModule): HookResult {}
  onTestEpochEnd(_trainer: Trainer, _module: LightningModule): HookResult {}
  onTestBatchStart(
    _trainer: Trainer,
    _module: LightningModule,
    _batch: unknown,
    _batchIdx: number,
    _dataloaderIdx: number,
  ): HookResult {}
  onTestBatchEnd(
    _trainer: Trainer,
    _module: LightningModule,
    _outputs: unknown,
    _batch: unknown,
    _batchIdx: number,
    _dataloaderIdx: number,
  ): HookResult {}

  // --- predict -------------------------------------------------------------------------------
  onPredictStart(_trainer: Trainer, _module: LightningModule): HookResult {}
  onPredictEnd(_trainer: Trainer, _module: LightningModule): HookResult {}
  onPredictEpochStart(_trainer: Trainer, _module: LightningModule): HookResult {}
  onPredictEpochEnd(_trainer: Trainer, _module: LightningModule): HookResult {}
  onPredictBatchStart(
    _trainer: Trainer,
    _module: LightningModule,
    _batch: unknown,
    _batchIdx: number,
    _dataloaderIdx: number,
  ): HookResult {}
  onPredictBatchEnd(
    _trainer: Trainer,
    _module: LightningModule,
    _outputs: unknown,
    _batch: unknown,
    _batchIdx: number,
    _dataloaderIdx: number,
  ): HookResult {}

  // --- optimisation ------------------------------------------------------------------------
  /** Before `loss` (already divided by `accumulateGradBatches` in automatic optimisation) is backpropagated. */
  onBeforeBackward(_trainer: Trainer, _module: LightningModule, _loss: tf.Tensor): HookResult {}
  /** After backward, before the optimizer step: gradients are in `param.grad`. */
  onAfterBackward(_trainer: Trainer, _module: LightningModule): HookResult {}
  /** Right before `optimizer.step()`, after gradient accumulation and before clipping. */
  onBeforeOptimizerStep(_trainer: Trainer, _module: LightningModule, _optimizer: Optimizer): HookResult {}
  onBeforeZeroGrad(_trainer: Trainer, _module: LightningModule, _optimizer: Optimizer): HookResult {}

  // --- exceptions and checkpoints -----------------------------------------------------------
  /** Training (or evaluation) raised `error`; the Trainer re-throws it after the callbacks ran. */
  onException(_trainer: Trainer, _module: LightningModule, _error: unknown): HookResult {}
  /** Called while a checkpoint is assembled; may add entries to `checkpoint` (after `stateDict()` was stored). */
  onSaveCheckpoint(_trainer: Trainer, _module: LightningModule, _checkpoint: CheckpointDict): HookResult {}
  /** Called while a checkpoint is restored, before `loadStateDict()`. */
  onLoadCheckpoint(_trainer: Trainer, _module: LightningModule, _checkpoint: CheckpointDict): HookResult {}
  /** This callback's state, saved under `stateKey` in checkpoints (plain data and tensors). */
  stateDict(): Record<string, unknown> {
    return {};
  }
  /** Restores what `stateDict()` returned. */
  loadStateDict(_state: Record<string, unknown>): void {}
}

/**
 * Marker base class of checkpointing callbacks (Lightning's `Checkpoint`): the Trainer's
 * `checkpointCallbacks` are the callbacks extending it, they are ordered last, and they are
 * monitoring callbacks. Implementations provide the paths below (empty strings when unknown).
 */
export abstract class Checkpoint extends Callback {
  /** Where checkpoints are written (resolved at setup). */
  abstract get dirpath(): string | null;
  /** The path of the best checkpoint so far (`ckptPath: "best"`). */
  abstract get bestModelPath(): string;
  /** The path of the most recent `last` checkpoint, if this callback saves one. */
  get lastModelPath(): string {
    return "";
  }

  override get isMonitoringCallback(): boolean {
    return true;
  }
}

/** All hook names a callback can implement (for the Trainer's dispatch and for tests). */
export const CALLBACK_HOOKS = [
  "setup",
  "teardown",
  "onFitStart",
  "onFitEnd",
  "onSanityCheckStart",
  "onSanityCheckEnd",
  "onTrainStart",
  "onTrainEnd",
  "onTrainEpochStart",
  "onTrainEpochEnd",
  "onTrainBatchStart",
  "onTrainBatchEnd",
  "onValidationStart",
  "onValidationEnd",
  "onValidationEpochStart",
  "onValidationEpochEnd",
  "onValidationBatchStart",
  "onValidationBatchEnd",
  "onTestStart",
  "onTestEnd",
  "onTestEpochStart",
  "onTestEpochEnd",
  "onTestBatchStart",
  "onTestBatchEnd",
  "onPredictStart",
  "onPredictEnd",
  "onPredictEpochStart",
  "onPredictEpochEnd",
  "onPredictBatchStart",
  "onPredictBatchEnd",
  "onBeforeBackward",
  "onAfterBackward",
  "onBeforeOptimizerStep",
  "onBeforeZeroGrad",
  "onException",
  "onSaveCheckpoint",
  "onLoadCheckpoint",
] as const;

export type CallbackHookName = (typeof CALLBACK_HOOKS)[number];
