import type { NamedAttrMap, TensorInfo } from "@tensorflow/tfjs-core";
import { tf } from "../../tf.ts";
import type { KernelContext } from "./kernel_context.ts";
import { copyElements, sharedHeap } from "./element_copy.ts";
import { runOriginal } from "./index.ts";

/**
 * `Concat` and `Pack` (`tf.concat`, `tf.stack`) on WASM, each input's rows copied straight into
 * place. tfjs's makes a `subarray` view per input per row: stacking a positional encoding's sin
 * and cos into [5000, 16, 2] (transformer_tutorial) took 10–12 ms (now 1.5); its `Pack` also
 * reshapes every input into a tensor of its own first (a DataLoader's batch of 64 [1, 28, 28]
 * samples: 50–55 µs, now 33–37). The same values (copies); other dtypes go to tfjs's kernels.
 */
export function concatRows(ctx: KernelContext, inputs: Record<string, TensorInfo>, attrs: NamedAttrMap): TensorInfo {
  const all = Object.values(inputs);
  if (!numeric(all)) return runOriginal(ctx, "Concat", inputs, attrs);
  const axis = tf.util.parseAxisParam(attrs.axis as number, all[0]!.shape)[0]!;
  const shapes = all.map((t) => t.shape);
  tf.backend_util.assertParamsConsistent(shapes, axis);
  return joinRows(ctx, all, axis, tf.backend_util.computeOutShape(shapes, axis));
}

/** `Pack`: the inputs stacked along a new axis `axis`. */
export function packRows(ctx: KernelContext, inputs: Record<string, TensorInfo>, attrs: NamedAttrMap): TensorInfo {
  const all = Object.values(inputs);
  if (!numeric(all)) return runOriginal(ctx, "Pack", inputs, attrs);
  const shape = all[0]!.shape;
  for (const t of all)
    tf.util.assertShapesMatch(shape, t.shape, "All tensors passed to stack must have matching shapes");
  const axis = (attrs.axis as number) < 0 ? (attrs.axis as number) + shape.length + 1 : (attrs.axis as number);
  const outShape = [...shape.slice(0, axis), all.length, ...shape.slice(axis)];
  return joinRows(ctx, all, axis, outShape);
}

function numeric(all: TensorInfo[]): boolean {
  const dtype = all[0]!.dtype;
  return (dtype === "float32" || dtype === "int32") && all.every((t) => t.dtype === dtype);
}

/**
 * The output of `outShape` made of the inputs side by side from axis `axis` on: for each index
 * of the axes before it, each input's block of elements, in turn.
 */
function joinRows(ctx: KernelContext, all: TensorInfo[], axis: number, outShape: number[]): TensorInfo {
  const out = ctx.empty(outShape, all[0]!.dtype as "float32" | "int32");
  let rows = 1;
  for (let a = 0; a < axis; a++) rows *= outShape[a]!;
  // Element arrays only now: the allocation above may have grown (and detached) the heap.
  const dst = ctx.values(out);
  const srcs = all.map((t) => ctx.values(t));
  const widths = srcs.map((src) => src.length / rows);
  const heaps = srcs.map((src) => sharedHeap(src, dst));
  let to = 0;
  for (let r = 0; r < rows; r++) {
    for (let i = 0; i < srcs.length; i++) {
      const width = widths[i]!;
      copyElements(heaps[i] ?? null, srcs[i]!, r * width, dst, to, width);
      to += width;
    }
  }
  return out;
}
