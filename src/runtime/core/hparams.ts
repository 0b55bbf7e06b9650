/**
 * `saveHyperparameters` (Lightning's `HyperparametersMixin`), shared by LightningModule and
 * LightningDataModule.
 *
 * Python's version reads the `__init__` arguments from the caller's frame. TypeScript has no
 * such access, so the hyperparameters are given explicitly (`this.saveHyperparameters(args)`,
 * or `this.saveHyperparameters({ lr, hidden })`), named (`this.saveHyperparameters(["lr"])`:
 * those properties of `this`), or, with no argument, taken from the plain-data properties set on
 * `this` so far — which, called in the constructor, are the constructor's parameter properties
 * (`constructor(private readonly args: {...})` gives `{ args: {...} }`, like Lightning with an
 * `__init__(self, args)`). Models, tensors, functions and class instances are never taken.
 */
import { tf } from "../../torch/tf.ts";
import { Module } from "../../torch/nn/module.ts";

export interface SaveHyperparametersOptions {
  /** Property names to leave out (Lightning's `ignore`). */
  ignore?: string | string[];
  /** Send the hyperparameters to the loggers at the start of fit/validate/test (default true). */
  logger?: boolean;
}

/** What holds hyperparameters: a LightningModule or a LightningDataModule. */
export interface HasHyperparameters {
  hparams: Record<string, unknown>;
}

/** Internal per-object state of the mixin (kept off the object's enumerable properties). */
export interface HparamsState {
  initial: Record<string, unknown>;
  log: boolean;
  /** How they were given: "kwargs" (an object/names) or "auto" — stored in checkpoints as `hparamsName`. */
  name: string | null;
}

const STATE = Symbol.for("lightning-ts.hparamsState");

export function hparamsState(obj: object): HparamsState {
  const o = obj as { [STATE]?: HparamsState };
  return (o[STATE] ??= { initial: {}, log: false, name: null });
}

/** Properties of LightningModule/DataModule themselves, never hyperparameters. */
const RESERVED = new Set([
  "training",
  "hparams",
  "automaticOptimization",
  "prepareDataPerNode",
  "strictLoading",
  "exampleInputArray",
  "allowZeroLengthDataloaderWithMultipleDevices",
  "trainer",
]);

export function saveHyperparameters(
  target: HasHyperparameters,
  hparams: Record<string, unknown> | string[] | string | null | undefined,
  options: SaveHyperparametersOptions = {},
): void {
  const ignore = new Set(typeof options.ignore === "string" ? [options.ignore] : (options.ignore ?? []));
  let collected: Record<string, unknown>;
  let name: string | null;
  if (hparams === undefined || hparams === null) {
    collected = {};
    for (const key of Object.keys(target)) {
      if (RESERVED.has(key) || key.startsWith("_")) continue;
      const v = (target as unknown as Record<string, unknown>)[key];
      if (isPlainData(v)) collected[key] = v;
    }
    name = "auto";
  } else if (typeof hparams === "string" || Array.isArray(hparams)) {
    const names = typeof hparams === "string" ? [hparams] : hparams;
    collected = {};
    for (const key of names) {
      if (!(key in target)) {
        throw new Error(`saveHyperparameters(): '${key}' is not a property of ${target.constructor.name}`);
      }
      collected[key] = (target as unknown as Record<string, unknown>)[key];
    }
    name = "kwargs";
  } else if (typeof hparams === "object") {
    if (hparams instanceof Module || hparams instanceof tf.Tensor) {
      throw new TypeError("saveHyperparameters(): pass an object of hyperparameters, not a model or a tensor");
    }
    collected = { ...hparams };
    name = "kwargs";
  } else {
    throw new TypeError(`saveHyperparameters(): expected an object, a list of property names or nothing, got ${typeof hparams}`);
  }
  for (const key of ignore) delete collected[key];
  Object.assign(target.hparams, collected);
  const state = hparamsState(target);
  state.initial = deepCopy(target.hparams);
  state.log = options.logger ?? true;
  state.name = name;
}

/** JSON-like data: what a YAML file or a checkpoint header can hold faithfully. */
export function isPlainData(v: unknown, depth = 0): boolean {
  if (depth > 32) return false;
  if (v === null || v === undefined) return true;
  const t = typeof v;
  if (t === "number" || t === "string" || t === "boolean") return true;
  if (Array.isArray(v)) return v.every((x) => isPlainData(x, depth + 1));
  if (t === "object") {
    const proto = Object.getPrototypeOf(v);
    if (proto !== Object.prototype && proto !== null) return false;
    return Object.values(v as object).every((x) => isPlainData(x, depth + 1));
  }
  return false;
}

export function deepCopy<T>(v: T): T {
  if (Array.isArray(v)) return v.map(deepCopy) as T;
  if (v !== null && typeof v === "object" && (Object.getPrototypeOf(v) === Object.prototype || Object.getPrototypeOf(v) === null)) {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) out[k] = deepCopy(x);
    return out as T;
  }
  return v;
}
