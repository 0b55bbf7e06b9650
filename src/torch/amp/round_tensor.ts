import { tf } from "../tf.ts";
import { roundToHalf, type HalfFormat } from "./rounding.ts";

/** A new float32 tensor holding `t`'s values rounded to `format` (other dtypes: `t` itself). */
export function roundTensorToHalf(t: tf.Tensor, format: HalfFormat): tf.Tensor {
  if (t.dtype !== "float32") return t;
  const values = Float32Array.from(t.dataSync() as Float32Array);
  roundToHalf(values, format);
  return tf.tensor(values, t.shape, "float32");
}
