/** Callbacks: `lightning-ts`'s `callbacks`, as `lightning.pytorch.callbacks`. */
export { Callback, Checkpoint, CALLBACK_HOOKS, type CallbackHookName, type HookResult, type TrainBatchOutputs } from "./callback";
export { ModelCheckpoint, type ModelCheckpointOptions, type TimeDelta, type MonitorCandidates } from "./model_checkpoint";
export { EarlyStopping, EarlyStoppingReason, type EarlyStoppingOptions } from "./early_stopping";
export { LearningRateMonitor, type LearningRateMonitorOptions } from "./lr_monitor";
export { ModelSummary, type ModelSummaryOptions } from "./model_summary";
export {
  summarize,
  ModelSummaryTable,
  LayerSummary,
  getHumanReadableCount,
  getFormattedModelSize,
  formatSummaryTable,
  type SummarizeOptions,
  type BatchShape,
} from "./summary/model_summary_table";
export { ProgressBar, getStandardMetrics } from "./progress/progress_bar";
export { TQDMProgressBar, type TQDMProgressBarOptions } from "./progress/tqdm_progress";
export { Bar as ProgressBarLine } from "./progress/bar";
export { formatPyNumber, type PyNumber } from "../utilities/python_format";
