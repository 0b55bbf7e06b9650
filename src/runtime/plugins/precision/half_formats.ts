import { tf } from "../../../torch/tf.ts";
import { roundTensorToHalf, type HalfFormat } from "../../../torch/amp/index.ts";
import { applyToCollection } from "../../utilities/apply_to_collection.ts";

/** The 16-bit format of a precision name: "16-…" is float16, "bf16-…" bfloat16. */
export function halfFormatOf(name: string): HalfFormat {
  return name.startsWith("bf16") ? "bfloat16" : "float16";
}

/** Every float tensor of a batch (arrays, objects, Maps) rounded to `format`, as a cast of the inputs. */
export function roundFloatTensors<T>(data: T, format: HalfFormat): T {
  return applyToCollection(
    data,
    (x) => x instanceof tf.Tensor,
    (t: tf.Tensor) => (t.dtype === "float32" ? roundTensorToHalf(t, format) : t),
  );
}
