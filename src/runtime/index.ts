/**
 * `lightning-ts`: the Lightning runtime on the torch layer — LightningLite (Fabric), with its
 * accelerators, strategies and plugins. LightningModule, LightningDataModule, Trainer,
 * callbacks and loggers join these exports as they are built.
 */
export {
  LightningLite,
  type LightningLiteOptions,
  type SetupDataloadersOptions,
  type ClipGradientsOptions,
  type LiteBackwardOptions,
  type Collected,
} from "./lite/lightning_lite";
export { isWrapped, unwrap } from "./lite/wrapped";
export {
  Connector,
  parseDevicesFlag,
  precisionFromFlag,
  type ConnectorOptions,
  type AcceleratorFlag,
  type StrategyFlag,
  type PrecisionFlag,
  type DevicesFlag,
} from "./connector";
export { MisconfigurationError } from "./errors";
export * from "./accelerators/index";
export * from "./strategies/index";
export * from "./plugins/index";
export { seedEverything } from "./utilities/seed";
export * from "./loggers/index";
// LightningModule, Trainer, callbacks base, profilers (trainer engineer).
export * from "./core/index";
export * from "./trainer/index";
export { Callback, Checkpoint, CALLBACK_HOOKS, type CallbackHookName, type HookResult, type TrainBatchOutputs } from "./callbacks/callback";
export * from "./profilers/index";
// Callbacks (callbacks engineer); importing them also installs the Trainer's default callbacks.
export {
  ModelCheckpoint,
  EarlyStopping,
  EarlyStoppingReason,
  LearningRateMonitor,
  ModelSummary,
  summarize,
  ModelSummaryTable,
  LayerSummary,
  getHumanReadableCount,
  ProgressBar,
  TQDMProgressBar,
  getStandardMetrics,
  type ModelCheckpointOptions,
  type TimeDelta,
  type EarlyStoppingOptions,
  type LearningRateMonitorOptions,
  type ModelSummaryOptions,
  type SummarizeOptions,
  type TQDMProgressBarOptions,
} from "./callbacks/index";
