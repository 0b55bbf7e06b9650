/**
 * `lightning-ts`: the Lightning runtime on the torch layer (`lightning-ts/torch`).
 *
 * - LightningLite (Fabric) and its wrappers;
 * - LightningModule, LightningDataModule and the Trainer;
 * - callbacks (ModelCheckpoint, EarlyStopping, LearningRateMonitor, ModelSummary, the progress
 *   bar), loggers (CSVLogger, TensorBoardLogger), profilers (SimpleProfiler);
 * - accelerators, strategies, plugins (precision, cluster environments) and the connector that
 *   turns the flags into them; `seedEverything`.
 *
 * Each area with an `index.ts` is re-exported through it, in one statement, so every public name
 * has one path here.
 */

// LightningLite (Fabric).
export {
  LightningLite,
  type LightningLiteOptions,
  type SetupDataloadersOptions,
  type ClipGradientsOptions,
  type LiteBackwardOptions,
  type Collected,
} from "./lite/lightning_lite.ts";
export { isWrapped, unwrap } from "./lite/wrapped.ts";

// Flags → accelerator, strategy, precision; errors; seeding.
export {
  Connector,
  parseDevicesFlag,
  precisionFromFlag,
  type ConnectorOptions,
  type AcceleratorFlag,
  type StrategyFlag,
  type PrecisionFlag,
  type DevicesFlag,
} from "./connector.ts";
export { MisconfigurationError } from "./errors.ts";
export { seedEverything } from "./utilities/seed.ts";
export * from "./accelerators/index.ts";
export * from "./strategies/index.ts";
export * from "./plugins/index.ts";

// LightningModule, LightningDataModule, Trainer.
export * from "./core/index.ts";
export * from "./trainer/index.ts";

// Callbacks, loggers, profilers.
export {
  Callback,
  Checkpoint,
  CALLBACK_HOOKS,
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
  type CallbackHookName,
  type HookResult,
  type TrainBatchOutputs,
  type ModelCheckpointOptions,
  type TimeDelta,
  type EarlyStoppingOptions,
  type LearningRateMonitorOptions,
  type ModelSummaryOptions,
  type SummarizeOptions,
  type TQDMProgressBarOptions,
} from "./callbacks/index.ts";
export * from "./loggers/index.ts";
export * from "./profilers/index.ts";
export * from "./cli/index.ts";
