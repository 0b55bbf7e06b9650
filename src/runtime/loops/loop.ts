import type { Trainer } from "../trainer/trainer.ts";

/**
 * Base of the Trainer's loops (Lightning's `_Loop`). A loop's progress counters go into
 * checkpoints through `stateDict()`; loading them marks the loop as `restarting`, which its
 * `reset()` reads to continue where the saved run stopped instead of starting over.
 */
export abstract class Loop {
  /** True between loading a checkpoint's state and finishing the first run after it. */
  restarting = false;

  constructor(protected readonly trainer: Trainer) {}

  abstract stateDict(): Record<string, unknown>;

  /** Restores `stateDict()`'s output and marks the loop as restarting. */
  loadStateDict(state: Record<string, unknown>): void {
    this.onLoadState(state);
    this.restarting = true;
  }

  protected abstract onLoadState(state: Record<string, unknown>): void;
}

/** Thrown inside a loop to end the current epoch early (Lightning's `StopIteration`). */
export class StopEpoch extends Error {
  constructor() {
    super("epoch stopped early");
    this.name = "StopEpoch";
  }
}
