import type { NamedAttrMap, TensorInfo } from "@tensorflow/tfjs-core";
import type { KernelContext } from "./kernel_context.ts";

/**
 * `UnsortedSegmentSum`: out[s, ...] = Σ_{i : ids[i] = s} x[i, ...], the gradient of `gather`
 * (so of `nn.Embedding`). WASM lacks it; the pure-JS backend's version builds a mask, a
 * product and a sum for every segment, O(numSegments × size) with five tensors per segment,
 * which for a 30k-token vocabulary is minutes per step. This is one scatter-add pass.
 *
 * Ids outside [0, numSegments) are dropped, as TensorFlow does for negative ids and as the
 * pure-JS backend does for all of them.
 */
export function unsortedSegmentSum(ctx: KernelContext, inputs: Record<string, TensorInfo>, attrs: NamedAttrMap): TensorInfo {
  const { x, segmentIds } = inputs;
  const numSegments = attrs.numSegments as number;
  const idRank = segmentIds.shape.length;
  for (let d = 0; d < idRank; d++) {
    if (segmentIds.shape[d] !== x.shape[d]) {
      throw new Error(
        `unsortedSegmentSum: segmentIds shape [${segmentIds.shape}] must be a prefix of x shape [${x.shape}]`,
      );
    }
  }
  const innerShape = x.shape.slice(idRank);
  const inner = innerShape.reduce((a, b) => a * b, 1);
  const dtype = x.dtype === "int32" ? "int32" : "float32";
  const out = ctx.zeros([numSegments, ...innerShape], dtype);
  const ids = ctx.values(segmentIds);
  const src = ctx.values(x);
  const dst = ctx.values(out);
  for (let i = 0; i < ids.length; i++) {
    const s = ids[i];
    if (s < 0 || s >= numSegments) continue;
    const from = i * inner;
    const to = s * inner;
    for (let j = 0; j < inner; j++) dst[to + j] += src[from + j];
  }
  return out;
}
