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

export interface DefaultCallbackFactories {
  modelCheckpoint: () => Checkpoint;
  progressBar: () => Callback | null;
  isProgressBar: (cb: Callback) => boolean;
  modelSummary: () => Callback | null;
  isModelSummary: (cb: Callback) => boolean;
}

function notRegistered(): never {
  throw new Error("the default callbacks are not registered: import the Trainer from 'lightning-ts' (callbacks/register_defaults.ts installs them)");
}

export const defaultCallbacks: DefaultCallbackFactories = {
  modelCheckpoint: notRegistered,
  progressBar: () => null,
  isProgressBar: () => false,
  modelSummary: () => null,
  isModelSummary: () => false,
};
