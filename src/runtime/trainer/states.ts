/**
 * What the Trainer is doing (Lightning's `trainer/states.py`): which entry point was called
 * (`fn`), which loop runs right now (`stage`), and how the run is going (`status`).
 */

/** The entry point: `trainer.fit`, `validate`, `test` or `predict` (Lightning's `TrainerFn`). */
export type TrainerFnName = "fit" | "validate" | "test" | "predict";

/** The loop running now (Lightning's `RunningStage`); `sanity_check` is the validation run before training. */
export type RunningStage = "train" | "sanity_check" | "validate" | "test" | "predict";

export type TrainerStatusName = "initializing" | "running" | "finished" | "interrupted";

export class TrainerState {
  fn: TrainerFnName | null = null;
  stage: RunningStage | null = null;
  status: TrainerStatusName = "initializing";

  /** True while `fit`/`validate`/`test`/`predict` is running. */
  get finished(): boolean {
    return this.status === "finished";
  }

  get stopped(): boolean {
    return this.status === "finished" || this.status === "interrupted";
  }
}

/** The dataloader hook and flag names each stage uses (`RunningStage.dataloader_prefix`). */
export function dataloaderPrefix(stage: RunningStage): "train" | "val" | "test" | "predict" {
  switch (stage) {
    case "train":
      return "train";
    case "sanity_check":
    case "validate":
      return "val";
    case "test":
      return "test";
    case "predict":
      return "predict";
  }
}
