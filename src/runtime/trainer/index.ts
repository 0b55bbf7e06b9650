/** `Trainer` and its types (Lightning's `lightning.pytorch.trainer`). */
export { Trainer, type FitOptions, type EvaluateOptions, type PredictOptions } from "./trainer.ts";
export type { TrainerOptions } from "./options.ts";
export { TrainerState, type TrainerFnName, type RunningStage, type TrainerStatusName } from "./states.ts";
export type { Checkpoint as CheckpointDict } from "./connectors/checkpoint_connector.ts";
export type { DataSource } from "./connectors/data_connector.ts";
