/** Callbacks: `lightning-ts`'s `callbacks`, as `lightning.pytorch.callbacks`. */
export { Callback, Checkpoint, CALLBACK_HOOKS, type CallbackHookName, type HookResult, type TrainBatchOutputs } from "./callback.ts";
export { ModelCheckpoint, type ModelCheckpointOptions, type TimeDelta, type MonitorCandidates } from "./model_checkpoint.ts";
export { EarlyStopping, EarlyStoppingReason, type EarlyStoppingOptions } from "./early_stopping.ts";
export { LearningRateMonitor, type LearningRateMonitorOptions } from "./lr_monitor.ts";
export { ModelSummary, type ModelSummaryOptions } from "./model_summary.ts";
export {
  summarize,
  ModelSummaryTable,
  LayerSummary,
  getHumanReadableCount,
  getFormattedModelSize,
  formatSummaryTable,
  type SummarizeOptions,
  type BatchShape,
} from "./summary/model_summary_table.ts";
export { ProgressBar, getStandardMetrics } from "./progress/progress_bar.ts";
export { TQDMProgressBar, type TQDMProgressBarOptions } from "./progress/tqdm_progress.ts";
export { Bar as ProgressBarLine } from "./progress/bar.ts";
export { formatPyNumber, type PyNumber } from "../utilities/python_format.ts";
