/**
 * Where each loop's data comes from (Lightning's `_DataConnector` and `_DataLoaderSource`):
 * dataloaders given to `fit`/`validate`/`test`/`predict`, else the datamodule's hooks, else the
 * module's. Loaders are requested lazily by the loops (so `trainDataloader()` runs after the
 * sanity check, as in Lightning) and prepared for the strategy: a DistributedSampler when the
 * strategy splits data across processes (Lite's insertion, reused), no shuffling when
 * overfitting.
 */
import { DataLoader } from "../../../torch/data/dataloader.ts";
import { RandomSampler, SequentialSampler } from "../../../torch/data/sampler.ts";
import { LightningModule, isOverridden } from "../../core/module.ts";
import { LightningDataModule } from "../../core/datamodule.ts";
import { MisconfigurationError } from "../../errors.ts";
import { rankZeroWarn } from "../../utilities/rank_zero.ts";
import { withDistributedSampler } from "../../lite/distributed_sampler.ts";
import { describeValue } from "../../utilities/describe.ts";
import { callDatamoduleHook, callModuleHook } from "../call.ts";
import type { TrainerOptions } from "../options.ts";
import { checkNonNegativeInt, type TrainerFlags } from "../setup.ts";
import type { RunningStage } from "../states.ts";
import { dataloaderPrefix } from "../states.ts";
import type { Trainer } from "../trainer.ts";

/**
 * What a dataloader hook may return: a `data.DataLoader` (the usual case), or any iterable of
 * batches (sync or async; with a numeric `length` if the number of batches is known).
 */
export type DataSource = DataLoader<any, any> | Iterable<unknown> | AsyncIterable<unknown>;

export type DataHookName = "trainDataloader" | "valDataloader" | "testDataloader" | "predictDataloader";

/** One loop's data: a loader given directly, or a module/datamodule whose hook provides it. */
export class DataLoaderSource {
  constructor(
    public instance: DataSource | DataSource[] | LightningModule | LightningDataModule | null,
    readonly name: DataHookName,
  ) {}

  isModule(): boolean {
    return this.instance instanceof LightningModule || this.instance instanceof LightningDataModule;
  }

  /** Whether data is there: given directly, or the hook is implemented. */
  isDefined(): boolean {
    if (this.instance === null) return false;
    if (this.instance instanceof LightningModule) return isOverridden(this.name, this.instance, LightningModule.prototype);
    if (this.instance instanceof LightningDataModule) return isOverridden(this.name, this.instance, LightningDataModule.prototype);
    return true;
  }

  async dataloader(trainer: Trainer): Promise<DataSource | DataSource[]> {
    const inst = this.instance;
    if (inst instanceof LightningModule) return (await callModuleHook(trainer, this.name, [], inst)) as DataSource | DataSource[];
    if (inst instanceof LightningDataModule) return (await callDatamoduleHook(trainer, this.name)) as DataSource | DataSource[];
    if (inst === null) throw new Error(`no ${this.name} source`);
    return inst;
  }
}

export function isDataSource(x: unknown): x is DataSource {
  return (
    x !== null &&
    typeof x === "object" &&
    (typeof (x as Iterable<unknown>)[Symbol.iterator] === "function" || typeof (x as AsyncIterable<unknown>)[Symbol.asyncIterator] === "function")
  );
}

/** The number of batches a source yields per pass, or Infinity when it has no length. */
export function sourceLength(source: DataSource): number {
  const n = (source as { length?: unknown }).length;
  return typeof n === "number" && Number.isFinite(n) && n >= 0 ? n : Infinity;
}

/**
 * Turns what a hook (or the user) gave into a list of data sources, checking each. A list of
 * DataLoaders is several loaders; any other iterable is one loader (a plain array of batches
 * counts as one source, as a Python list of batches does).
 */
export function normalizeSources(value: unknown, where: string): DataSource[] {
  if (value === null || value === undefined) return [];
  if (Array.isArray(value) && value.length > 0 && value.every((v) => v instanceof DataLoader)) return value as DataSource[];
  if (Array.isArray(value) && value.length > 0 && value.every((v) => isDataSource(v) && !(v instanceof Array))) return value as DataSource[];
  if (isDataSource(value)) return [value];
  throw new TypeError(`An invalid dataloader was ${where}. Found ${describeValue(value)}: expected a data.DataLoader or an iterable of batches`);
}

export class DataConnector {
  /** Sources for the fit loop's training, the fit loop's validation, and the four entry points. */
  readonly trainSource = new DataLoaderSource(null, "trainDataloader");
  readonly fitValSource = new DataLoaderSource(null, "valDataloader");
  readonly validateSource = new DataLoaderSource(null, "valDataloader");
  readonly testSource = new DataLoaderSource(null, "testDataloader");
  readonly predictSource = new DataLoaderSource(null, "predictDataloader");

  constructor(private readonly trainer: Trainer) {}

  /** The data flags (Lightning's `_DataConnector.on_trainer_init`). */
  onTrainerInit(options: TrainerOptions): void {
    const trainer: TrainerFlags<"reloadDataloadersEveryNEpochs" | "useDistributedSampler"> = this.trainer;
    trainer.reloadDataloadersEveryNEpochs = checkNonNegativeInt(options.reloadDataloadersEveryNEpochs ?? 0, "reloadDataloadersEveryNEpochs");
    trainer.useDistributedSampler = options.useDistributedSampler ?? true;
  }

  attachData(
    model: LightningModule,
    options: {
      trainDataloaders?: DataSource | null;
      valDataloaders?: DataSource | DataSource[] | null;
      testDataloaders?: DataSource | DataSource[] | null;
      predictDataloaders?: DataSource | DataSource[] | null;
      datamodule?: LightningDataModule | null;
    },
  ): void {
    const { datamodule } = options;
    if (datamodule !== undefined && datamodule !== null) {
      if (!(datamodule instanceof LightningDataModule)) {
        throw new TypeError(`\`datamodule\` must be a \`LightningDataModule\`, got ${describeValue(datamodule)}`);
      }
      const given = [options.trainDataloaders, options.valDataloaders, options.testDataloaders, options.predictDataloaders];
      if (given.some((d) => d !== undefined && d !== null)) {
        throw new MisconfigurationError(
          "You cannot pass dataloaders and a `datamodule` at the same time: the datamodule provides the dataloaders",
        );
      }
      for (const s of [this.trainSource, this.fitValSource, this.validateSource, this.testSource, this.predictSource]) s.instance = datamodule;
      this.trainer.datamodule = datamodule;
      datamodule.trainer = this.trainer;
      return;
    }
    this.trainer.datamodule = null;
    this.trainSource.instance = options.trainDataloaders ?? model;
    this.fitValSource.instance = options.valDataloaders ?? model;
    this.validateSource.instance = options.valDataloaders ?? model;
    this.testSource.instance = options.testDataloaders ?? model;
    this.predictSource.instance = options.predictDataloaders ?? model;
  }

  /** `prepareData` on the datamodule then the module, on local rank 0 (or global rank 0 when not per node). */
  async prepareData(): Promise<void> {
    const trainer = this.trainer;
    const dm = trainer.datamodule;
    const module = trainer.lightningModule;
    if (dm !== null && isOverridden("prepareData", dm, LightningDataModule.prototype)) {
      const perNode = dm.prepareDataPerNode;
      if ((perNode && trainer.localRank === 0) || (!perNode && trainer.isGlobalZero)) await callDatamoduleHook(trainer, "prepareData");
    }
    if (isOverridden("prepareData", module, LightningModule.prototype)) {
      const perNode = module.prepareDataPerNode;
      if ((perNode && trainer.localRank === 0) || (!perNode && trainer.isGlobalZero)) await callModuleHook(trainer, "prepareData");
    }
    await trainer.strategy.barrier("prepare_data");
  }

  /** Requests a stage's loaders from its source and prepares them. */
  async requestDataloaders(source: DataLoaderSource, stage: RunningStage): Promise<DataSource[]> {
    const prefix = dataloaderPrefix(stage);
    const raw = await source.dataloader(this.trainer);
    const where = source.isModule()
      ? `returned from \`${source.instance!.constructor.name}.${source.name}()\``
      : `passed to \`Trainer.${this.trainer.state.fn ?? "fit"}(${prefix === "train" ? "trainDataloaders" : `${prefix}Dataloaders`}=...)\``;
    const loaders = normalizeSources(raw, where);
    if (stage === "train" && loaders.length > 1) {
      throw new MisconfigurationError(
        "Several training dataloaders are not supported yet (Lightning's CombinedLoader): combine them into one dataset",
      );
    }
    return loaders.map((l) => this.processDataloader(l, stage));
  }

  /** Distributed sampler, overfit handling and shuffling warnings (Lightning's `_process_dataloader`). */
  processDataloader(loader: DataSource, stage: RunningStage): DataSource {
    if (!(loader instanceof DataLoader)) return loader;
    let out: DataLoader<any, any> = loader;
    const trainer = this.trainer;
    if (trainer.overfitBatches > 0 && stage === "train" && out.sampler instanceof RandomSampler) {
      rankZeroWarn("You requested to overfit but enabled train dataloader shuffling. We are turning off the train dataloader shuffling for you.");
      out = new DataLoader(out.dataset, {
        batchSize: out.batchSize ?? 1,
        sampler: new SequentialSampler(out.dataset),
        dropLast: out.dropLast,
        collateFn: out.collateFn,
      });
    }
    if (stage !== "train" && stage !== "predict" && out.sampler instanceof RandomSampler) {
      rankZeroWarn(
        `Your \`${dataloaderPrefix(stage)}Dataloader\`'s sampler has shuffling enabled, it is strongly recommended that you turn shuffling off for val/test dataloaders.`,
      );
    }
    const settings = trainer.useDistributedSampler ? trainer.strategy.distributedSamplerSettings() : null;
    if (settings !== null) out = withDistributedSampler(out, settings);
    return out;
  }
}
