import type { NamedAttrMap, TensorInfo } from "@tensorflow/tfjs-core";
import type { KernelContext } from "./kernel_context.ts";
import {
  convInfo,
  fromChannelsLast,
  isChannelsFirst,
  shapeToChannelsLast,
  toChannelsLast,
  type Conv2DInfo,
} from "./conv_info.ts";
import { geometryArgs, patchSize } from "./im2col.ts";
import { WasmHeapModule } from "../wasm_heap_module.ts";
import { wasmThreads } from "../wasm.ts";
import { CONV_GEMM_SIMD_WASM } from "./conv_gemm_simd_wasm.ts";
import { runOriginal } from "./index.ts";
import { copyElements, sharedHeap } from "./element_copy.ts";

/** conv_gemm_simd.wat's exports (byte addresses and sizes; see the module). */
export interface ConvGemmExports {
  convolve(...args: number[]): void;
  productPanels(...args: number[]): void;
  patchPanels(...args: number[]): void;
  rowPanels(...args: number[]): void;
}

export const convGemm = new WasmHeapModule<ConvGemmExports>(CONV_GEMM_SIMD_WASM);

/** Output channels per column block of conv_gemm_simd.wat's product, and rows per tile. */
export const COLUMN_BLOCK = 8;
export const ROW_TILE = 4;

/**
 * Bytes of gathered patch panels per block of output positions: the filter's column panels are
 * each read once per block, the block's panels stay in L2 while they are.
 */
export const panelBlock = { bytes: 64 * 1024 };

/**
 * Input × output channels from which Conv2D takes the panels: below it, gathering each tile's
 * patch rows costs more than its short product saves (measured against XNNPACK: 1 → 32 channels
 * 1.7x slower, 8 → 16 1.3x, 16 → 32 parity, 32 → 64 1.2x faster).
 */
export const panelsFrom = { channelProduct: 1024 };

/**
 * `Conv2D` for the WASM backend: conv_gemm_simd.wat's panel product, which gives XNNPACK's
 * bits (the same sums in the same order) 1.14–1.42x faster (`bench/conv.ts`).
 * tfjs's own kernel (XNNPACK) keeps the cases the module does not take: a multi-threaded
 * backend (XNNPACK spreads a convolution over its threads), a runtime without WebAssembly SIMD,
 * and narrow layers (`panelsFrom`).
 */
export function conv2dPanels(ctx: KernelContext, inputs: Record<string, TensorInfo>, attrs: NamedAttrMap): TensorInfo {
  const filterShape = inputs.filter.shape as [number, number, number, number];
  const [, , C, K] = filterShape;
  const float32 = inputs.x.dtype === "float32" && inputs.filter.dtype === "float32";
  if (wasmThreads() > 1 || !float32 || C * K < panelsFrom.channelProduct)
    return runOriginal(ctx, "Conv2D", inputs, attrs);
  const channelsFirst = isChannelsFirst(attrs);
  const x = toChannelsLast(ctx, inputs.x, channelsFirst);
  const info = convInfo(shapeToChannelsLast(inputs.x.shape, channelsFirst), filterShape, attrs, false);
  const out = ctx.empty([info.batchSize, info.outHeight, info.outWidth, info.outChannels], "float32");
  if (!convolvePanels(ctx, x, inputs.filter, info, out)) {
    ctx.free(out);
    if (x !== inputs.x) ctx.free(x);
    return runOriginal(ctx, "Conv2D", inputs, attrs);
  }
  return fromChannelsLast(ctx, out, channelsFirst);
}

/** y = conv(x, filter) into `out` (NHWC) by conv_gemm_simd.wat; false when the module cannot run here. */
function convolvePanels(
  ctx: KernelContext,
  x: TensorInfo,
  filter: TensorInfo,
  info: Conv2DInfo,
  out: TensorInfo,
): boolean {
  const K = info.outChannels;
  const C = info.inChannels;
  const P = patchSize(info);
  const M = info.batchSize * info.outHeight * info.outWidth;
  const kpad = Math.ceil(K / COLUMN_BLOCK) * COLUMN_BLOCK;
  const packed = ctx.empty([kpad * P], "float32");
  const zero = ctx.zeros([Math.max(C, 4)], "float32");
  const tiles = Math.max(1, Math.min(Math.ceil(M / ROW_TILE), Math.floor(panelBlock.bytes / (P * ROW_TILE * 4))));
  const panels = ctx.empty([tiles * P * ROW_TILE], "float32");
  // Rows of kpad floats when K is not a multiple of the block: compacted into `out` below.
  const rows = kpad === K ? out : ctx.empty([M * kpad], "float32");
  try {
    // Element arrays only after the allocations above (a WASM heap growth detaches them).
    const xs = ctx.floats(x);
    const ys = ctx.values(rows) as Float32Array;
    const exports = convGemm.exportsFor(xs, ys);
    if (exports === null) return false;
    packColumnBlocks(ctx.floats(filter), P, K, ctx.values(packed) as Float32Array);
    exports.convolve(
      xs.byteOffset,
      (ctx.values(packed) as Float32Array).byteOffset,
      ctx.floats(zero).byteOffset,
      (ctx.values(panels) as Float32Array).byteOffset,
      ys.byteOffset,
      kpad * 4,
      M,
      ...geometryArgs(info),
      kpad,
      tiles,
    );
    if (rows !== out) {
      const y = ctx.values(out) as Float32Array;
      const heap = sharedHeap(ys, y);
      for (let m = 0; m < M; m++) copyElements(heap, ys, m * kpad, y, m * K, K);
    }
    return true;
  } finally {
    ctx.free(packed);
    ctx.free(zero);
    ctx.free(panels);
    if (rows !== out) ctx.free(rows);
  }
}

/**
 * W [P, K] as [kpad/8][P][8]: each block of eight output channels contiguous along p, zeros past
 * K (their outputs are dropped; zeros keep the buffer's old contents, denormals included, out of
 * the arithmetic).
 */
function packColumnBlocks(w: Float32Array, P: number, K: number, packed: Float32Array): void {
  const blocks = packed.length / (P * COLUMN_BLOCK);
  for (let jb = 0; jb < blocks; jb++) {
    const k0 = jb * COLUMN_BLOCK;
    const width = Math.min(COLUMN_BLOCK, K - k0);
    let dst = jb * P * COLUMN_BLOCK;
    for (let p = 0; p < P; p++, dst += COLUMN_BLOCK) {
      const src = p * K + k0;
      for (let l = 0; l < width; l++) packed[dst + l] = w[src + l]!;
      for (let l = width; l < COLUMN_BLOCK; l++) packed[dst + l] = 0;
    }
  }
}

/**
 * `Conv2D` for the pure-JS backend: y[n, oh, ow, k] = Σ_{fh, fw, c} x[n, ih, iw, c] · W[fh, fw, c, k].
 *
 * tfjs's own loop walks the filter with the output channel outermost, re-reading the input for
 * every output channel (~0.8 s for the benchmark CNN's second layer). Here each output pixel's
 * K accumulators stay in a small float64 row while four input channels at a time stream
 * through, so every innermost loop is contiguous in both the filter and the row: ~3x faster.
 */
export function conv2dDirect(ctx: KernelContext, inputs: Record<string, TensorInfo>, attrs: NamedAttrMap): TensorInfo {
  const channelsFirst = isChannelsFirst(attrs);
  const x = toChannelsLast(ctx, inputs.x, channelsFirst);
  const filterShape = inputs.filter.shape as [number, number, number, number];
  const info = convInfo(shapeToChannelsLast(inputs.x.shape, channelsFirst), filterShape, attrs, false);
  const out = ctx.empty([info.batchSize, info.outHeight, info.outWidth, info.outChannels], "float32");
  convolve(ctx.floats(x), ctx.floats(inputs.filter), info, ctx.values(out) as Float32Array);
  return fromChannelsLast(ctx, out, channelsFirst);
}

function convolve(x: Float32Array, w: Float32Array, g: Conv2DInfo, y: Float32Array): void {
  const { batchSize: N, inHeight: H, inWidth: W, inChannels: C, outHeight: OH, outWidth: OW } = g;
  const { filterHeight: FH, filterWidth: FW, strideHeight: sh, strideWidth: sw, outChannels: K } = g;
  const { dilationHeight: dh, dilationWidth: dw } = g;
  const pt = g.padInfo.top;
  const pl = g.padInfo.left;
  const row = new Float64Array(K);
  const C4 = C - (C % 4);
  for (let n = 0; n < N; n++) {
    for (let oh = 0; oh < OH; oh++) {
      for (let ow = 0; ow < OW; ow++) {
        row.fill(0);
        for (let fh = 0; fh < FH; fh++) {
          const ih = oh * sh + fh * dh - pt;
          if (ih < 0 || ih >= H) continue;
          for (let fw = 0; fw < FW; fw++) {
            const iw = ow * sw + fw * dw - pl;
            if (iw < 0 || iw >= W) continue;
            const xOff = ((n * H + ih) * W + iw) * C;
            const tap = (fh * FW + fw) * C;
            let c = 0;
            for (; c < C4; c += 4) {
              const a0 = x[xOff + c];
              const a1 = x[xOff + c + 1];
              const a2 = x[xOff + c + 2];
              const a3 = x[xOff + c + 3];
              const w0 = (tap + c) * K;
              const w1 = w0 + K;
              const w2 = w1 + K;
              const w3 = w2 + K;
              for (let k = 0; k < K; k++) row[k] += a0 * w[w0 + k] + a1 * w[w1 + k] + a2 * w[w2 + k] + a3 * w[w3 + k];
            }
            for (; c < C; c++) {
              const a = x[xOff + c];
              const w0 = (tap + c) * K;
              for (let k = 0; k < K; k++) row[k] += a * w[w0 + k];
            }
          }
        }
        const yOff = ((n * OH + oh) * OW + ow) * K;
        for (let k = 0; k < K; k++) y[yOff + k] = row[k];
      }
    }
  }
}
