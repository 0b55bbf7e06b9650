import type { NamedAttrMap, TensorInfo } from "@tensorflow/tfjs-core";
import { tf } from "../../tf.ts";
import type { KernelContext } from "./kernel_context.ts";
import { copyElements, sharedHeap } from "./element_copy.ts";
import { runOriginal } from "./index.ts";

/**
 * `GatherV2` as contiguous copies: every gathered slice (the rows of an `nn.Embedding`, a time
 * step of an RNN's input projection) is a run of memory, copied whole. tfjs's kernels compute
 * every element's coordinates one at a time: on WASM 60–80 ns an element, so an Embedding of 700
 * tokens × 64 took 3.6 ms and reading one step of a [35, 20, 256] projection 0.33 ms (a quarter
 * of the word-language-model LSTM's step); the pure-JS backend is no faster. Indices are checked
 * as tfjs checks them, with its message. A move: the values are the pure-JS kernel's bits (WASM's
 * own reads the wrong rows when `batchDims` > 0 leaves axes before the gathered one). Other
 * dtypes go to tfjs's kernel.
 */
export function gatherSlices(ctx: KernelContext, inputs: Record<string, TensorInfo>, attrs: NamedAttrMap): TensorInfo {
  const { x, indices } = inputs as { x: TensorInfo; indices: TensorInfo };
  if ((x.dtype !== "float32" && x.dtype !== "int32") || indices.dtype !== "int32") {
    return runOriginal(ctx, "GatherV2", inputs, attrs);
  }
  const axis = tf.util.parseAxisParam(attrs.axis as number, x.shape)[0]!;
  const info = tf.backend_util.segment_util.collectGatherOpShapeInfo(x, indices, axis, attrs.batchDims as number);
  const out = ctx.empty(info.outputShape, x.dtype);
  // Element arrays only now: the allocation above may have grown (and detached) the WASM heap.
  const idx = ctx.values(indices);
  const axisDim = x.shape[axis]!;
  for (let i = 0; i < idx.length; i++) {
    const index = idx[i]!;
    // (shimKernel frees the output on the way out.)
    if (!(index <= axisDim - 1 && index >= 0)) throw new Error(`GatherV2: the index value ${index} is not in [0, ${axisDim - 1}]`);
  }
  const src = ctx.values(x);
  const dst = ctx.values(out);
  const { batchSize, outerSize, dimSize, sliceSize } = info;
  const perBatch = idx.length / batchSize;
  const heap = sharedHeap(src, dst);
  let to = 0;
  for (let b = 0; b < batchSize; b++) {
    for (let o = 0; o < outerSize; o++) {
      const block = (b * outerSize + o) * dimSize;
      for (let j = 0; j < perBatch; j++) {
        copyElements(heap, src, (block + idx[b * perBatch + j]!) * sliceSize, dst, to, sliceSize);
        to += sliceSize;
      }
    }
  }
  return out;
}
