/**
 * The hook sets of a LightningModule (Lightning's `core/hooks.py`): `ModelHooks` (the training
 * life cycle), `DataHooks` (where data comes from and how a batch reaches the device) and
 * `CheckpointHooks`. `LightningModule` implements all three with Lightning's defaults (mostly
 * no-ops); `LightningDataModule` implements `DataHooks`. Every hook may return a promise: the
 * Trainer awaits each one before going on.
 */
import type { tf } from "../../torch/tf.ts";
import type { Device } from "../../torch/device.ts";
import type { Optimizer } from "../../torch/optim/optimizer.ts";
import type { TrainerFnName } from "../trainer/states.ts";
import type { Checkpoint } from "../trainer/connectors/checkpoint_connector.ts";
import type { DataSource } from "../trainer/connectors/data_connector.ts";

export type MaybePromise<T> = T | Promise<T>;

export interface ModelHooks {
  onFitStart(): MaybePromise<void>;
  onFitEnd(): MaybePromise<void>;
  onTrainStart(): MaybePromise<void>;
  onTrainEnd(): MaybePromise<void>;
  onValidationStart(): MaybePromise<void>;
  onValidationEnd(): MaybePromise<void>;
  onTestStart(): MaybePromise<void>;
  onTestEnd(): MaybePromise<void>;
  onPredictStart(): MaybePromise<void>;
  onPredictEnd(): MaybePromise<void>;
  /** Return -1 to skip the rest of the epoch (Lightning's convention). */
  onTrainBatchStart(batch: any, batchIdx: number): MaybePromise<void | number>;
  onTrainBatchEnd(outputs: unknown, batch: any, batchIdx: number): MaybePromise<void>;
  onValidationBatchStart(batch: any, batchIdx: number, dataloaderIdx: number): MaybePromise<void>;
  onValidationBatchEnd(outputs: unknown, batch: any, batchIdx: number, dataloaderIdx: number): MaybePromise<void>;
  onTestBatchStart(batch: any, batchIdx: number, dataloaderIdx: number): MaybePromise<void>;
  onTestBatchEnd(outputs: unknown, batch: any, batchIdx: number, dataloaderIdx: number): MaybePromise<void>;
  onPredictBatchStart(batch: any, batchIdx: number, dataloaderIdx: number): MaybePromise<void>;
  onPredictBatchEnd(outputs: unknown, batch: any, batchIdx: number, dataloaderIdx: number): MaybePromise<void>;
  onValidationModelZeroGrad(): MaybePromise<void>;
  onValidationModelEval(): MaybePromise<void>;
  onValidationModelTrain(): MaybePromise<void>;
  onTestModelEval(): MaybePromise<void>;
  onTestModelTrain(): MaybePromise<void>;
  onPredictModelEval(): MaybePromise<void>;
  onTrainEpochStart(): MaybePromise<void>;
  onTrainEpochEnd(): MaybePromise<void>;
  onValidationEpochStart(): MaybePromise<void>;
  onValidationEpochEnd(): MaybePromise<void>;
  onTestEpochStart(): MaybePromise<void>;
  onTestEpochEnd(): MaybePromise<void>;
  onPredictEpochStart(): MaybePromise<void>;
  onPredictEpochEnd(): MaybePromise<void>;
  onBeforeZeroGrad(optimizer: Optimizer): MaybePromise<void>;
  onBeforeBackward(loss: tf.Tensor): MaybePromise<void>;
  onAfterBackward(): MaybePromise<void>;
  onBeforeOptimizerStep(optimizer: Optimizer): MaybePromise<void>;
  /** Build layers here when they should be created once the device is set up. */
  configureModel(): MaybePromise<void>;
}

export interface DataHooks {
  /** Download/prepare data once per node (Lightning calls it on local rank 0 only). */
  prepareData(): MaybePromise<void>;
  setup(stage: TrainerFnName): MaybePromise<void>;
  teardown(stage: TrainerFnName): MaybePromise<void>;
  trainDataloader(): MaybePromise<DataSource>;
  valDataloader(): MaybePromise<DataSource | DataSource[]>;
  testDataloader(): MaybePromise<DataSource | DataSource[]>;
  predictDataloader(): MaybePromise<DataSource | DataSource[]>;
  transferBatchToDevice(batch: any, device: Device, dataloaderIdx: number): any;
  onBeforeBatchTransfer(batch: any, dataloaderIdx: number): any;
  onAfterBatchTransfer(batch: any, dataloaderIdx: number): any;
}

export interface CheckpointHooks {
  /** Called while a checkpoint is being restored, before the weights are loaded. */
  onLoadCheckpoint(checkpoint: Checkpoint): MaybePromise<void>;
  /** Called while a checkpoint is being assembled: add what else you want saved. */
  onSaveCheckpoint(checkpoint: Checkpoint): MaybePromise<void>;
}

/** The names of every LightningModule hook the Trainer calls (for `is_overridden` checks and tests). */
export type ModelHookName = keyof ModelHooks | keyof DataHooks | keyof CheckpointHooks;
