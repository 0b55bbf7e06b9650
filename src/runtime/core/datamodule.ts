/**
 * `LightningDataModule` (Lightning's `lightning.pytorch.LightningDataModule`): the data side of
 * a training run in one reusable class — download/prepare, split per stage, and the
 * dataloaders. Pass it as `trainer.fit(model, { datamodule })`; its hooks replace the module's.
 *
 *   class FashionMNISTData extends LightningDataModule {
 *     async setup(stage: string) { this.train = await data.FashionMNIST.load({ split: "train" }); }
 *     trainDataloader() { return new data.DataLoader(this.train, { batchSize: 64, shuffle: true }); }
 *   }
 */
import type { Device } from "../../torch/device.ts";
import type { Dataset } from "../../torch/data/dataset.ts";
import { DataLoader } from "../../torch/data/dataloader.ts";
import { MisconfigurationError } from "../errors.ts";
import { moveDataToDevice } from "../utilities/move_data_to_device.ts";
import type { Trainer } from "../trainer/trainer.ts";
import type { TrainerFnName } from "../trainer/states.ts";
import type { DataSource } from "../trainer/connectors/data_connector.ts";
import type { DataHooks, MaybePromise } from "./hooks.ts";
import { hparamsState, saveHyperparameters, deepCopy, type SaveHyperparametersOptions } from "./hparams.ts";

export abstract class LightningDataModule implements DataHooks {
  /** Call `prepareData` once per node (true) or once in total (false). */
  prepareDataPerNode = true;
  hparams: Record<string, any> = {};
  /** The Trainer using this datamodule (set by `fit`/`validate`/`test`/`predict`). */
  trainer: Trainer | null = null;

  /** See `LightningModule.saveHyperparameters`; logged together with the module's. */
  saveHyperparameters(hparams?: Record<string, unknown> | string[] | string | null, options: SaveHyperparametersOptions = {}): void {
    saveHyperparameters(this, hparams, options);
  }

  get hparamsInitial(): Record<string, any> {
    return deepCopy(hparamsState(this).initial);
  }

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
  transferBatchToDevice(batch: any, device: Device, _dataloaderIdx: number): any {
    return moveDataToDevice(batch, device);
  }
  onBeforeBatchTransfer(batch: any, _dataloaderIdx: number): any {
    return batch;
  }
  onAfterBatchTransfer(batch: any, _dataloaderIdx: number): any {
    return batch;
  }
  /** State saved in checkpoints under the class name (Lightning's `state_dict`). */
  stateDict(): Record<string, unknown> {
    return {};
  }
  loadStateDict(_state: Record<string, unknown>): void {}
  /** Called when fit/validate/test/predict raised. */
  onException(_error: unknown): MaybePromise<void> {}

  /**
   * A datamodule from datasets (Lightning's `from_datasets`): each given dataset gets its
   * dataloader (the training one shuffled).
   */
  static fromDatasets(options: {
    trainDataset?: Dataset<any>;
    valDataset?: Dataset<any> | Dataset<any>[];
    testDataset?: Dataset<any> | Dataset<any>[];
    predictDataset?: Dataset<any> | Dataset<any>[];
    batchSize?: number;
  }): LightningDataModule {
    const batchSize = options.batchSize ?? 1;
    const many = (d: Dataset<any> | Dataset<any>[], shuffle: boolean) =>
      Array.isArray(d) ? d.map((x) => new DataLoader(x, { batchSize, shuffle })) : new DataLoader(d, { batchSize, shuffle });
    class FromDatasets extends LightningDataModule {}
    const dm = new FromDatasets();
    const hooks = dm as unknown as Record<string, unknown>;
    if (options.trainDataset) hooks.trainDataloader = () => many(options.trainDataset!, true);
    if (options.valDataset) hooks.valDataloader = () => many(options.valDataset!, false);
    if (options.testDataset) hooks.testDataloader = () => many(options.testDataset!, false);
    if (options.predictDataset) hooks.predictDataloader = () => many(options.predictDataset!, false);
    return dm;
  }
}
