import { tf } from "../../torch/tf.ts";

/** Every tensor inside a nested structure of arrays and plain objects (a loaded checkpoint). */
export function tensorsIn(x: unknown, out: tf.Tensor[] = [], depth = 0): tf.Tensor[] {
  if (depth > 64) return out;
  if (x instanceof tf.Tensor) {
    out.push(x);
  } else if (Array.isArray(x)) {
    for (const v of x) tensorsIn(v, out, depth + 1);
  } else if (x !== null && typeof x === "object" && !ArrayBuffer.isView(x)) {
    for (const v of Object.values(x)) tensorsIn(v, out, depth + 1);
  }
  return out;
}
