/**
 * The callbacks the Trainer adds by itself (Lightning's `_CallbackConnector` defaults):
 * checkpointing (`enableCheckpointing`), a progress bar (`enableProgressBar`) and the model
 * summary (`enableModelSummary`).
 *
 * Factories, so the callbacks package plugs its classes in (callbacks/register_defaults.ts,
 * imported by the Trainer) without the Trainer depending on each class. The `is…` predicates
 * tell the Trainer whether a user-given callback already plays that role.
 */
import type { Callback, Checkpoint } from "../../callbacks/callback";
// Type-only: the class itself is plugged in by register_defaults.ts (a value import here would
// make the Trainer's connectors load the callbacks package, which imports the Trainer's types).
import type { ProgressBar } from "../../callbacks/progress/progress_bar";

export interface DefaultCallbackFactories {
  modelCheckpoint: () => Checkpoint;
  progressBar: () => ProgressBar | null;
  /** Whether `cb` is a progress bar: an instance of `ProgressBar` (a user subclass of any name counts). */
  isProgressBar: (cb: Callback) => cb is ProgressBar;
  modelSummary: () => Callback | null;
  isModelSummary: (cb: Callback) => boolean;
}

function notRegistered(): never {
  throw new Error("the default callbacks are not registered: import the Trainer from 'lightning-ts' (callbacks/register_defaults.ts installs them)");
}

export const defaultCallbacks: DefaultCallbackFactories = {
  modelCheckpoint: notRegistered,
  progressBar: () => null,
  isProgressBar: (_cb: Callback): _cb is ProgressBar => false,
  modelSummary: () => null,
  isModelSummary: () => false,
};
