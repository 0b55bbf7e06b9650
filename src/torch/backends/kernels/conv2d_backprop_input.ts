import type { NamedAttrMap, TensorInfo } from "@tensorflow/tfjs-core";
import type { KernelContext } from "./kernel_context.ts";
import { convInfo, fromChannelsLast, isChannelsFirst, shapeToChannelsLast, toChannelsLast, type Conv2DInfo } from "./conv_info.ts";
import { col2imAdd, imagesPerChunk, patchSize } from "./im2col.ts";

/**
 * `Conv2DBackpropInput` (the input gradient of `conv2d`, also `conv2dTranspose`) as one
 * matMul and a col2im: cols [M, P] = dy [M, K] × Wᵀ [K, P], then every column entry is added
 * back onto the input pixel its patch read.
 *
 * With stride 1 there is a cheaper form still: the input gradient is the "full" correlation
 * of dy with the filter rotated by 180° and its channel axes swapped, one forward Conv2D on
 * XNNPACK with no column matrix at all.
 *
 * WASM has this kernel, but as a scalar loop outside XNNPACK: 226 ms of CPU for the second
 * layer of the benchmark CNN (batch 64, 14×14, 32→64 channels), against ~20 ms as a Conv2D
 * and ~50 ms as matMul + col2im.
 */

export function conv2dBackpropInputMatMul(
  ctx: KernelContext,
  inputs: Record<string, TensorInfo>,
  attrs: NamedAttrMap,
): TensorInfo {
  const channelsFirst = isChannelsFirst(attrs);
  const inShape = shapeToChannelsLast(attrs.inputShape as number[], channelsFirst);
  const filterShape = inputs.filter.shape as [number, number, number, number];
  const info = convInfo(inShape, filterShape, attrs, false);
  const dy = toChannelsLast(ctx, inputs.dy, channelsFirst);
  const N = info.batchSize;
  const K = info.outChannels;
  const P = patchSize(info);
  const perImage = info.outHeight * info.outWidth;

  if (info.strideHeight === 1 && info.strideWidth === 1 && fitsFullCorrelation(info)) {
    return fromChannelsLast(ctx, fullCorrelation(ctx, dy, inputs.filter, info), channelsFirst);
  }

  // [FH, FW, C, K] → [K, FH, FW, C] = [K, P]: the matMul then needs no transposed operand,
  // which tfjs's WASM backend runs on a slow path.
  const filterT = ctx.run("Transpose", { x: inputs.filter }, { perm: [3, 0, 1, 2] });
  const filterRows = ctx.run("Reshape", { x: filterT }, { shape: [K, P] });
  const dyRows = ctx.run("Reshape", { x: dy }, { shape: [N * perImage, K] });
  const dx = ctx.zeros(inShape, "float32");
  const chunk = imagesPerChunk(info, N);
  for (let n0 = 0; n0 < N; n0 += chunk) {
    const n1 = Math.min(N, n0 + chunk);
    const dyChunk =
      chunk >= N
        ? dyRows
        : ctx.run("Slice", { x: dyRows }, { begin: [n0 * perImage, 0], size: [(n1 - n0) * perImage, K] });
    const cols = ctx.run("BatchMatMul", { a: dyChunk, b: filterRows }, { transposeA: false, transposeB: false });
    col2imAdd(ctx.values(cols) as Float32Array, info, n0, n1, ctx.values(dx) as Float32Array);
    ctx.free(cols);
    if (dyChunk !== dyRows) ctx.free(dyChunk);
  }
  return fromChannelsLast(ctx, dx, channelsFirst);
}

/** The full correlation needs padding FH−1−pad ≥ 0 on every side (no cropping). */
function fitsFullCorrelation(info: Conv2DInfo): boolean {
  const { top, bottom, left, right } = info.padInfo;
  const fh = info.filterHeight - 1;
  const fw = info.filterWidth - 1;
  return top <= fh && bottom <= fh && left <= fw && right <= fw;
}

/**
 * W [FH, FW, C, K] rotated by 180° with its channel axes swapped: out[a, b, k, c] =
 * W[FH−1−a, FW−1−b, c, k], in one pass (WASM's Reverse alone took ~1 ms for a 3×3×32×64 filter).
 */
function rotatedSwapped(ctx: KernelContext, filter: TensorInfo): TensorInfo {
  const [FH, FW, C, K] = filter.shape as [number, number, number, number];
  const out = ctx.empty([FH, FW, K, C], "float32");
  const w = ctx.floats(filter);
  const r = ctx.values(out) as Float32Array;
  for (let a = 0; a < FH; a++) {
    for (let b = 0; b < FW; b++) {
      const src = ((FH - 1 - a) * FW + (FW - 1 - b)) * C * K;
      const dst = (a * FW + b) * K * C;
      for (let c = 0; c < C; c++) for (let k = 0; k < K; k++) r[dst + k * C + c] = w[src + c * K + k]!;
    }
  }
  return out;
}

/** Stride 1: dx = conv2d(dy, rot180(W) with in/out swapped), padded by FH−1−pad. */
function fullCorrelation(ctx: KernelContext, dy: TensorInfo, filter: TensorInfo, info: Conv2DInfo): TensorInfo {
  const swapped = rotatedSwapped(ctx, filter);
  const { top, bottom, left, right } = info.padInfo;
  const fh = info.filterHeight - 1;
  const fw = info.filterWidth - 1;
  return ctx.run(
    "Conv2D",
    { x: dy, filter: swapped },
    {
      strides: 1,
      dilations: 1,
      dataFormat: "NHWC",
      pad: [
        [0, 0],
        [fh - top, fh - bottom],
        [fw - left, fw - right],
        [0, 0],
      ],
    },
  );
}

/**
 * The pure-JS form: for every output pixel and filter tap, four input channels' dot products
 * with that pixel's dy row at once (the row read once, everything contiguous), accumulated in
 * float64. tfjs's own loop is ~2x slower; matMul + col2im on the pure-JS backend's matMul
 * would be slower still.
 */
export function conv2dBackpropInputDirect(
  ctx: KernelContext,
  inputs: Record<string, TensorInfo>,
  attrs: NamedAttrMap,
): TensorInfo {
  const channelsFirst = isChannelsFirst(attrs);
  const inShape = shapeToChannelsLast(attrs.inputShape as number[], channelsFirst);
  const info = convInfo(inShape, inputs.filter.shape as [number, number, number, number], attrs, false);
  const dy = toChannelsLast(ctx, inputs.dy, channelsFirst);
  const out = ctx.empty(inShape, "float32");
  const dx = scatterInputGradient(ctx.floats(inputs.filter), ctx.floats(dy), info);
  (ctx.values(out) as Float32Array).set(dx);
  return fromChannelsLast(ctx, out, channelsFirst);
}

function scatterInputGradient(w: Float32Array, dy: Float32Array, g: Conv2DInfo): Float64Array {
  const { batchSize: N, inHeight: H, inWidth: W, inChannels: C, outHeight: OH, outWidth: OW } = g;
  const { filterHeight: FH, filterWidth: FW, strideHeight: sh, strideWidth: sw, outChannels: K } = g;
  const { dilationHeight: dh, dilationWidth: dw } = g;
  const pt = g.padInfo.top;
  const pl = g.padInfo.left;
  const dx = new Float64Array(N * H * W * C);
  const C4 = C - (C % 4);
  for (let n = 0; n < N; n++) {
    for (let oh = 0; oh < OH; oh++) {
      for (let ow = 0; ow < OW; ow++) {
        const dyOff = ((n * OH + oh) * OW + ow) * K;
        for (let fh = 0; fh < FH; fh++) {
          const ih = oh * sh + fh * dh - pt;
          if (ih < 0 || ih >= H) continue;
          for (let fw = 0; fw < FW; fw++) {
            const iw = ow * sw + fw * dw - pl;
            if (iw < 0 || iw >= W) continue;
            const dxOff = ((n * H + ih) * W + iw) * C;
            const tap = (fh * FW + fw) * C;
            let c = 0;
            for (; c < C4; c += 4) {
              const w0 = (tap + c) * K;
              const w1 = w0 + K;
              const w2 = w1 + K;
              const w3 = w2 + K;
              let s0 = 0;
              let s1 = 0;
              let s2 = 0;
              let s3 = 0;
              for (let k = 0; k < K; k++) {
                const d = dy[dyOff + k];
                s0 += w[w0 + k] * d;
                s1 += w[w1 + k] * d;
                s2 += w[w2 + k] * d;
                s3 += w[w3 + k] * d;
              }
              dx[dxOff + c] += s0;
              dx[dxOff + c + 1] += s1;
              dx[dxOff + c + 2] += s2;
              dx[dxOff + c + 3] += s3;
            }
            for (; c < C; c++) {
              const w0 = (tap + c) * K;
              let s = 0;
              for (let k = 0; k < K; k++) s += w[w0 + k] * dy[dyOff + k];
              dx[dxOff + c] += s;
            }
          }
        }
      }
    }
  }
  return dx;
}
