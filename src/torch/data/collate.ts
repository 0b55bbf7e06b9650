import { tf } from "../tf.ts";

/**
 * `defaultCollate`: turns a list of items into a batch, like `torch.utils.data.default_collate`.
 *
 * - tensors are stacked along a new first axis (equal shapes required);
 * - numbers become a 1-D tensor: int32 when every value is an integer (torch: int64), else
 *   float32 (torch: float64; tfjs has neither 64-bit type). JavaScript has one number type, so
 *   a float label that happens to be whole (2.0) reads as an integer: give float targets as
 *   tensors, or pass a collateFn, when the dtype matters;
 * - booleans become a bool tensor; typed arrays are stacked into a [batch, length] tensor;
 * - strings stay a string array;
 * - arrays/tuples are collated position-wise, plain objects key-wise (nested to any depth).
 */

type TypedArray =
  | Float32Array
  | Float64Array
  | Int8Array
  | Int16Array
  | Int32Array
  | Uint8Array
  | Uint8ClampedArray
  | Uint16Array
  | Uint32Array;

/** The type `defaultCollate` gives a batch of `T` items. */
export type Collated<T> = T extends tf.Tensor
  ? tf.Tensor
  : T extends number | boolean | TypedArray
    ? tf.Tensor
    : T extends string
      ? string[]
      : T extends readonly unknown[]
        ? { -readonly [K in keyof T]: Collated<T[K]> }
        : T extends object
          ? { [K in keyof T]: Collated<T[K]> }
          : T;

function describe(v: unknown): string {
  if (v === null) return "null";
  if (v instanceof tf.Tensor) return `a ${v.dtype} tensor of shape [${v.shape.join(", ")}]`;
  if (Array.isArray(v)) return `an array of length ${v.length}`;
  if (typeof v === "object") return `an object (${(v as object).constructor?.name ?? "no prototype"})`;
  return `a ${typeof v}`;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  if (v === null || typeof v !== "object") return false;
  const proto = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

function typedArrayDtype(a: ArrayBufferView): "float32" | "int32" | null {
  if (a instanceof Float32Array || a instanceof Float64Array) return "float32";
  if (
    a instanceof Int8Array ||
    a instanceof Int16Array ||
    a instanceof Int32Array ||
    a instanceof Uint8Array ||
    a instanceof Uint8ClampedArray ||
    a instanceof Uint16Array ||
    a instanceof Uint32Array
  ) {
    return "int32";
  }
  return null;
}

function collateAt(batch: readonly unknown[], path: string): unknown {
  const first = batch[0];
  const where = path === "" ? "" : ` at ${path}`;
  const mismatch = (i: number) =>
    new TypeError(
      `defaultCollate: item 0${where} is ${describe(first)} but item ${i} is ${describe(batch[i])}; ` +
        "items must have the same structure (or pass a collateFn)",
    );

  if (first instanceof tf.Tensor) {
    for (let i = 1; i < batch.length; i++) {
      const t = batch[i];
      if (!(t instanceof tf.Tensor)) throw mismatch(i);
      if (t.dtype !== first.dtype || !tf.util.arraysEqual(t.shape, first.shape)) {
        throw new Error(
          `defaultCollate: tensors in a batch must have equal shapes and dtypes; item 0${where} is ` +
            `${describe(first)}, item ${i} is ${describe(t)} (pad them, or pass a collateFn)`,
        );
      }
    }
    return tf.stack(batch as tf.Tensor[]);
  }
  if (typeof first === "number") {
    const values = batch.map((v, i) => {
      if (typeof v !== "number") throw mismatch(i);
      return v;
    });
    return tf.tensor1d(values, values.every(Number.isInteger) ? "int32" : "float32");
  }
  if (typeof first === "boolean") {
    const values = batch.map((v, i) => {
      if (typeof v !== "boolean") throw mismatch(i);
      return v;
    });
    return tf.tensor1d(values, "bool");
  }
  if (typeof first === "string") {
    return batch.map((v, i) => {
      if (typeof v !== "string") throw mismatch(i);
      return v;
    });
  }
  if (ArrayBuffer.isView(first) && typedArrayDtype(first) !== null) {
    const len = (first as TypedArray).length;
    const dtype = typedArrayDtype(first)!;
    const out = dtype === "float32" ? new Float32Array(batch.length * len) : new Int32Array(batch.length * len);
    batch.forEach((v, i) => {
      if (!ArrayBuffer.isView(v) || typedArrayDtype(v) !== dtype || (v as TypedArray).length !== len) throw mismatch(i);
      out.set(v as unknown as ArrayLike<number>, i * len);
    });
    return tf.tensor2d(out, [batch.length, len], dtype);
  }
  if (Array.isArray(first)) {
    const n = first.length;
    batch.forEach((v, i) => {
      if (!Array.isArray(v) || v.length !== n) throw mismatch(i);
    });
    return Array.from({ length: n }, (_, k) =>
      collateAt(
        batch.map((v) => (v as unknown[])[k]),
        `${path}[${k}]`,
      ),
    );
  }
  if (isPlainObject(first)) {
    const keys = Object.keys(first);
    batch.forEach((v, i) => {
      if (!isPlainObject(v)) throw mismatch(i);
      for (const k of keys) if (!(k in v)) throw mismatch(i);
    });
    const out: Record<string, unknown> = {};
    for (const k of keys) {
      out[k] = collateAt(
        batch.map((v) => (v as Record<string, unknown>)[k]),
        path === "" ? k : `${path}.${k}`,
      );
    }
    return out;
  }
  throw new TypeError(
    `defaultCollate: cannot collate ${describe(first)}${where}: expected tensors, numbers, booleans, strings, ` +
      "typed arrays, or arrays/objects of those (or pass a collateFn)",
  );
}

export function defaultCollate<T>(batch: readonly T[]): Collated<T> {
  if (batch.length === 0) throw new Error("defaultCollate: empty batch");
  return collateAt(batch, "") as Collated<T>;
}
