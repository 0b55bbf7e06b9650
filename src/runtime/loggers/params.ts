/**
 * Shaping of what loggers receive, as Lightning's `lightning.fabric.utilities.logger`: metric keys
 * with a prefix, metric values as plain numbers, and hyperparameters flattened and reduced to the
 * scalar types TensorBoard's HParams dashboard can show.
 */
import type { Tensor } from "@tensorflow/tfjs-core";

/** A metric as loggers accept it: a number, or a one-element tensor (what `this.log` holds). */
export type MetricValue = number | Tensor;

/** Lightning's `LOGGER_JOIN_CHAR`: `prefix-key`. */
export const LOGGER_JOIN_CHAR = "-";

/** `{loss: 1}` with prefix `"train"` becomes `{"train-loss": 1}`; an empty prefix changes nothing. */
export function addPrefix<V>(
  metrics: Readonly<Record<string, V>>,
  prefix: string,
  separator: string = LOGGER_JOIN_CHAR,
): Record<string, V> {
  if (!prefix) return { ...metrics };
  const out: Record<string, V> = {};
  for (const [k, v] of Object.entries(metrics)) out[`${prefix}${separator}${k}`] = v;
  return out;
}

/**
 * A metric value as a JavaScript number. Tensors are read back synchronously (a logger writes
 * files in step with training, so it has to wait for the value anyway); anything but a single
 * number is refused with the key in the message, because a silently dropped metric is worse.
 */
export function metricToNumber(key: string, value: unknown): number {
  if (typeof value === "number") return value;
  if (typeof value === "bigint") return Number(value);
  if (typeof value === "boolean") return value ? 1 : 0;
  if (isTensorLike(value)) {
    if (value.size !== 1) {
      throw new TypeError(`metric '${key}' is a tensor of shape [${value.shape.join(", ")}]; log a scalar`);
    }
    return value.dataSync()[0];
  }
  throw new TypeError(`metric '${key}' is ${describe(value)}, which cannot be logged; log a number or a scalar tensor`);
}

function isTensorLike(value: unknown): value is Pick<Tensor, "size" | "shape" | "dataSync"> {
  return (
    typeof value === "object" &&
    value !== null &&
    typeof (value as Tensor).dataSync === "function" &&
    typeof (value as Tensor).size === "number"
  );
}

function describe(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  return `a ${typeof value}`;
}

/** `None`/`undefined` hyperparameters mean "none". */
export function convertParams(params: Readonly<Record<string, unknown>> | null | undefined): Record<string, unknown> {
  return params ? { ...params } : {};
}

/**
 * `{a: {b: 1}}` becomes `{"a/b": 1}`: nested plain objects are walked, anything else (arrays
 * included) is a leaf. TensorBoard's HParams view is a flat table, hence the flattening.
 */
export function flattenDict(
  params: Readonly<Record<string, unknown>>,
  delimiter = "/",
  parentKey = "",
): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(params)) {
    const key = parentKey ? `${parentKey}${delimiter}${k}` : k;
    if (isPlainObject(v)) Object.assign(out, flattenDict(v, delimiter, key));
    else out[key] = v;
  }
  return out;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  if (typeof v !== "object" || v === null || Array.isArray(v)) return false;
  const proto = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

/** A hyperparameter value TensorBoard's HParams plugin can store. */
export type HparamScalar = number | string | boolean;

/**
 * Lightning's `_sanitize_params`: numbers, strings and booleans pass, a scalar tensor becomes its
 * number, everything else becomes a readable string (`[1,2,3]`, `null`) so it still shows up in
 * the HParams table instead of breaking the summary.
 */
export function sanitizeParams(params: Readonly<Record<string, unknown>>): Record<string, HparamScalar> {
  const out: Record<string, HparamScalar> = {};
  for (const [k, v] of Object.entries(params)) out[k] = sanitizeValue(v);
  return out;
}

function sanitizeValue(v: unknown): HparamScalar {
  if (typeof v === "number" || typeof v === "string" || typeof v === "boolean") return v;
  if (typeof v === "bigint") return Number(v);
  if (isTensorLike(v) && v.size === 1) return v.dataSync()[0];
  if (typeof v === "function") return v.name || "function";
  if (v === undefined) return "undefined";
  try {
    const json = JSON.stringify(v);
    if (json !== undefined) return json;
  } catch {
    // Cyclic or otherwise unserialisable: fall through to the generic spelling.
  }
  return String(v);
}
