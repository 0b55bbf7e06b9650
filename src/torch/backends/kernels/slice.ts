import type { NamedAttrMap, TensorInfo } from "@tensorflow/tfjs-core";
import { tf } from "../../tf.ts";
import type { KernelContext, NumericArray } from "./kernel_context.ts";
import { copyElements, sharedHeap } from "./element_copy.ts";
import { runOriginal } from "./index.ts";

/**
 * `Slice` and `SplitV` on WASM as copies straight out of the heap. tfjs's WASM `Slice` first
 * reads its whole input out of the heap (`readSync` copies it), then copies the box it wants;
 * its `SplitV` calls that `Slice` once per part, so splitting an LSTM's [batch, 4·hidden] gates
 * into four copied the gates five times (72 µs a split of [20, 1024]). Here each part is copied
 * once, in its longest contiguous runs. The same values, bit for bit (copies); other dtypes go
 * to tfjs's kernels.
 */
export function sliceBox(ctx: KernelContext, inputs: Record<string, TensorInfo>, attrs: NamedAttrMap): TensorInfo {
  const { x } = inputs as { x: TensorInfo };
  if (x.dtype !== "float32" && x.dtype !== "int32") return runOriginal(ctx, "Slice", inputs, attrs);
  const [begin, size] = tf.slice_util.parseSliceParams(x, attrs.begin as number[], attrs.size as number[]);
  const out = ctx.empty(size, x.dtype);
  // Element arrays only now: the allocation above may have grown (and detached) the heap.
  copyBox(ctx.values(x), x.shape, begin, size, ctx.values(out));
  return out;
}

/** `SplitV`: the parts along `axis`, each copied once (see `sliceBox`). */
export function splitParts(ctx: KernelContext, inputs: Record<string, TensorInfo>, attrs: NamedAttrMap): TensorInfo[] {
  const { x } = inputs as { x: TensorInfo };
  const axis = tf.util.parseAxisParam(attrs.axis as number, x.shape)[0]!;
  const sizes = tf.backend_util.prepareSplitSize(x, attrs.numOrSizeSplits as number[] | number, axis);
  const begin = x.shape.map(() => 0);
  const boxes = sizes.map((s) => {
    const size = [...x.shape];
    size[axis] = s;
    const box = { begin: [...begin], size };
    begin[axis]! += s;
    return box;
  });
  if (x.dtype !== "float32" && x.dtype !== "int32") {
    return boxes.map(({ begin, size }) => runOriginal(ctx, "Slice", { x }, { begin, size }));
  }
  const parts = boxes.map(({ size }) => ctx.empty(size, x.dtype as "float32" | "int32"));
  const src = ctx.values(x);
  boxes.forEach(({ begin, size }, i) => copyBox(src, x.shape, begin, size, ctx.values(parts[i]!)));
  return parts;
}

/**
 * Copies the box `[begin, begin + size)` of a row-major tensor of `shape` into `dst`, in order.
 * The trailing axes the box takes whole, with the last one it takes in part, make one
 * contiguous run of the source; the axes before them are counted through, one run each.
 */
export function copyBox(src: NumericArray, shape: number[], begin: number[], size: number[], dst: NumericArray): void {
  const rank = shape.length;
  const total = size.reduce((a, b) => a * b, 1);
  if (total === 0) return;
  let run = 1;
  let first = rank; // the outermost axis inside the run
  while (first > 0) {
    first--;
    run *= size[first]!;
    if (size[first] !== shape[first]) break;
  }
  const strides = new Array<number>(rank);
  for (let a = rank - 1, s = 1; a >= 0; a--) {
    strides[a] = s;
    s *= shape[a]!;
  }
  const heap = sharedHeap(src, dst);
  const at = new Array<number>(first).fill(0); // position among the axes before the run
  let from = 0;
  for (let a = 0; a < rank; a++) from += begin[a]! * strides[a]!;
  for (let to = 0; to < total; to += run) {
    copyElements(heap, src, from, dst, to, run);
    // the next run: count through the axes before it, innermost first
    for (let a = first - 1; a >= 0; a--) {
      if (++at[a]! < size[a]!) {
        from += strides[a]!;
        break;
      }
      at[a] = 0;
      from -= (size[a]! - 1) * strides[a]!;
    }
  }
}
