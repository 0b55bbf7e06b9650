/** `Trainer` and its types (Lightning's `lightning.pytorch.trainer`). */
export { Trainer, type FitOptions, type EvaluateOptions, type PredictOptions } from "./trainer";
export type { TrainerOptions } from "./options";
export { TrainerState, type TrainerFnName, type RunningStage, type TrainerStatusName } from "./states";
export type { Checkpoint as CheckpointDict } from "./connectors/checkpoint_connector";
export type { DataSource } from "./connectors/data_connector";
