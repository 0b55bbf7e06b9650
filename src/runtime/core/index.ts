/** `LightningModule`, `LightningDataModule` and what they use (Lightning's `lightning.pytorch.core`). */
export { LightningModule, isOverridden, type LogOptions, type GradientClipAlgorithm } from "./module.ts";
export { LightningDataModule } from "./datamodule.ts";
export {
  LightningOptimizer,
  type LRSchedulerConfig,
  type LRSchedulerConfigInput,
  type OptimizerLRSchedulerConfig,
  type OptimizersConfig,
} from "./optimizer.ts";
export type { ModelHooks, DataHooks, CheckpointHooks } from "./hooks.ts";
export type { SaveHyperparametersOptions } from "./hparams.ts";
