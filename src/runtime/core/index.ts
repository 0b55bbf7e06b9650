/** `LightningModule`, `LightningDataModule` and what they use (Lightning's `lightning.pytorch.core`). */
export { LightningModule, isOverridden, type LogOptions, type GradientClipAlgorithm } from "./module";
export { LightningDataModule } from "./datamodule";
export {
  LightningOptimizer,
  type LRSchedulerConfig,
  type LRSchedulerConfigInput,
  type OptimizerLRSchedulerConfig,
  type OptimizersConfig,
} from "./optimizer";
export type { ModelHooks, DataHooks, CheckpointHooks } from "./hooks";
export type { SaveHyperparametersOptions } from "./hparams";
