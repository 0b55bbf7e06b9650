import type { NamedAttrMap, TensorInfo } from "@tensorflow/tfjs-core";
import type { KernelContext } from "./kernel_context.ts";
import { convInfo, isChannelsFirst, shapeToChannelsLast, toChannelsLast, type Conv2DInfo } from "./conv_info.ts";
import { geometryArgs, im2colTransposed, imagesPerChunk, patchSize } from "./im2col.ts";
import { wasmThreads } from "../wasm.ts";
import { COLUMN_BLOCK, ROW_TILE, convGemm } from "./conv2d.ts";
import { WasmHeapModule } from "../wasm_heap_module.ts";
import { CONV_FILTER_GRAD_SIMD_WASM } from "./conv_filter_grad_simd_wasm.ts";

const simd = new WasmHeapModule<{ accumulate(...args: number[]): void }>(CONV_FILTER_GRAD_SIMD_WASM);

/**
 * `Conv2DBackpropFilter`: the filter gradient of `conv2d`,
 * dW[fh, fw, c, k] = Σ_{n, oh, ow} x[n, oh·s + fh − pad, ow·s + fw − pad, c] · dy[n, oh, ow, k].
 *
 * One kernel per backend (WASM lacks it; the pure-JS backend's own takes ~28 s per CNN step):
 * - `conv2dBackpropFilterPanels` (WASM): runs of output positions summed in float32, the runs
 *   in float64 — a first layer's few input channels straight from x and dy
 *   (conv_filter_grad_simd.wat), wider layers as one product per run of packed patch and dy
 *   rows (conv_gemm_simd.wat, 1.32–1.72x XNNPACK's matMul: `bench/conv.ts`),
 *   or, on a multi-threaded backend, XNNPACK's matMul per group of images.
 * - `conv2dBackpropFilterDirect` (pure JS): the sum as a loop whose innermost axis is
 *   contiguous in both dy and dW, four input channels at a time, accumulated in float64.
 */

function geometry(ctx: KernelContext, inputs: Record<string, TensorInfo>, attrs: NamedAttrMap) {
  const channelsFirst = isChannelsFirst(attrs);
  const x = toChannelsLast(ctx, inputs.x, channelsFirst);
  const dy = toChannelsLast(ctx, inputs.dy, channelsFirst);
  const filterShape = attrs.filterShape as [number, number, number, number];
  const info = convInfo(shapeToChannelsLast(inputs.x.shape, channelsFirst), filterShape, attrs, false);
  return { x, dy, filterShape, info };
}

/**
 * Output positions summed in float32 per run on the WASM path, the runs summed in float64. One
 * float32 sum over the whole batch (N·OH·OW = 50,176 terms for a first layer on 28×28 images)
 * left `conv1.weight`'s gradient 30x further from float64 than PyTorch's; runs of about this
 * many positions bring it to float32 rounding (7e-7 relative instead of 6e-6 on that layer).
 */
export const filterGradientGroup = { positions: 1024 };

/**
 * Whole images per float32 run of the product paths: as many as fit in
 * `filterGradientGroup.positions` (at least one) and in the matMul path's patch matrix. The
 * panel and matMul paths sum the same runs in the same order, so one thread and a multi-threaded
 * backend (which takes the matMul path) give the same bits.
 */
function imagesPerRun(info: Conv2DInfo): number {
  const perImage = info.outHeight * info.outWidth;
  const group = Math.max(1, Math.floor(filterGradientGroup.positions / perImage));
  return Math.min(info.batchSize, imagesPerChunk(info, info.batchSize), group);
}

export function conv2dBackpropFilterPanels(
  ctx: KernelContext,
  inputs: Record<string, TensorInfo>,
  attrs: NamedAttrMap,
): TensorInfo {
  const { x, dy, filterShape, info } = geometry(ctx, inputs, attrs);
  const expected = [info.batchSize, info.outHeight, info.outWidth, info.outChannels];
  if (!dy.shape.every((d, i) => d === expected[i]) || dy.shape.length !== 4) {
    throw new Error(
      `Conv2DBackpropFilter: dy has shape [${dy.shape}] (channels last), the geometry gives [${expected}]`,
    );
  }
  const direct = info.inChannels <= filterGradientDirect.maxInChannels && info.outChannels % 4 === 0;
  const panels = filterGradientPanels.enabled && wasmThreads() <= 1;
  const acc =
    (direct ? accumulateDirect(ctx, x, dy, info) : null) ??
    (panels ? accumulatePanels(ctx, x, dy, info) : null) ??
    accumulateMatMul(ctx, x, dy, info);
  const dW = ctx.empty(filterShape, "float32");
  (ctx.values(dW) as Float32Array).set(acc);
  return dW;
}

/**
 * Whether the WASM path may take conv_gemm_simd.wat's product (tests turn it off to run the
 * matMul path). A multi-threaded backend always takes the matMul path: XNNPACK spreads each
 * product over its threads, the module runs on one.
 */
export const filterGradientPanels = { enabled: true };

/**
 * Positions per packed chunk of a run: the chunk's patch panels stay in L2 (about 300 KB for
 * a 3×3×32 patch) while each column block's dy panel (8 KB) stays in L1. A run's chunks continue
 * the same float32 sums (productPanels' accumulate), so the chunk size does not change the bits.
 */
export const filterGradientChunk = { positions: 256 };

/**
 * The sum as runs of positions, each the product of the run's patch rows and dy rows packed
 * into panels (conv_gemm_simd.wat's patchPanels, rowPanels, productPanels), chunk by chunk;
 * P and K rounded up to the product's tile with zeros. Null when the module cannot run here.
 */
function accumulatePanels(ctx: KernelContext, x: TensorInfo, dy: TensorInfo, info: Conv2DInfo): Float64Array | null {
  const P = patchSize(info);
  const K = info.outChannels;
  const M = info.batchSize * info.outHeight * info.outWidth;
  const ppad = Math.ceil(P / ROW_TILE) * ROW_TILE;
  const kpad = Math.ceil(K / COLUMN_BLOCK) * COLUMN_BLOCK;
  const run = imagesPerRun(info) * info.outHeight * info.outWidth;
  const chunk = Math.max(1, Math.min(run, filterGradientChunk.positions));
  const patches = ctx.empty([ppad * chunk], "float32");
  const rows = ctx.empty([kpad * chunk], "float32");
  const part = ctx.empty([ppad * kpad], "float32");
  try {
    // Element arrays only after the allocations above (a WASM heap growth detaches them).
    const xs = ctx.floats(x);
    const dys = ctx.floats(dy);
    const a = ctx.values(patches) as Float32Array;
    const b = ctx.values(rows) as Float32Array;
    const parts = ctx.values(part) as Float32Array;
    const exports = convGemm.exportsFor(xs, dys, a, b, parts);
    if (exports === null) return null;
    const acc = new Float64Array(P * K);
    for (let r0 = 0; r0 < M; r0 += run) {
      const r1 = Math.min(M, r0 + run);
      for (let m0 = r0; m0 < r1; m0 += chunk) {
        const m1 = Math.min(r1, m0 + chunk);
        exports.patchPanels(xs.byteOffset, a.byteOffset, m0, m1, chunk, ...geometryArgs(info));
        exports.rowPanels(dys.byteOffset, b.byteOffset, m0, m1, chunk, K);
        exports.productPanels(
          a.byteOffset,
          chunk * ROW_TILE * 4,
          b.byteOffset,
          chunk * COLUMN_BLOCK * 4,
          parts.byteOffset,
          kpad * 4,
          ppad / ROW_TILE,
          kpad / COLUMN_BLOCK,
          m1 - m0,
          ppad,
          m0 === r0 ? 0 : 1,
        );
      }
      for (let p = 0; p < P; p++) {
        const src = p * kpad;
        const dst = p * K;
        for (let k = 0; k < K; k++) acc[dst + k] += parts[src + k]!;
      }
    }
    return acc;
  } finally {
    ctx.free(patches);
    ctx.free(rows);
    ctx.free(part);
  }
}

/**
 * The sum as one matMul on XNNPACK per group of whole images: the transposed patch matrix
 * [P, m] (im2col.ts) times dy's rows [m, K], the groups summed in float64. The rows of dy are
 * copied, not sliced: WASM's Slice cost 10x more.
 */
function accumulateMatMul(ctx: KernelContext, x: TensorInfo, dy: TensorInfo, info: Conv2DInfo): Float64Array {
  const N = info.batchSize;
  const K = info.outChannels;
  const P = patchSize(info);
  const perImage = info.outHeight * info.outWidth;
  const group = imagesPerRun(info);
  const acc = new Float64Array(P * K);
  for (let n0 = 0; n0 < N; n0 += group) {
    const n1 = Math.min(N, n0 + group);
    const m = (n1 - n0) * perImage;
    const patches = ctx.empty([P, m], "float32");
    const dyRows = ctx.empty([m, K], "float32");
    // Element arrays only after the allocations above (a WASM heap growth detaches them).
    (ctx.values(dyRows) as Float32Array).set(ctx.floats(dy).subarray(n0 * perImage * K, n1 * perImage * K));
    im2colTransposed(ctx.floats(x), info, n0, n1, ctx.values(patches) as Float32Array);
    const product = ctx.run("BatchMatMul", { a: patches, b: dyRows }, { transposeA: false, transposeB: false });
    const part = ctx.values(product);
    for (let i = 0; i < P * K; i++) acc[i] += part[i]!;
    ctx.free(product);
    ctx.free(patches);
    ctx.free(dyRows);
  }
  return acc;
}

/**
 * Input channels up to which the WASM path sums in WebAssembly SIMD straight from x and dy
 * (conv_filter_grad_simd.wat) instead of a product: a one-channel first layer makes a 9-row
 * product (12 with the tile's padding), whose patch rows cost more to gather than the sum. The
 * benchmark CNN's conv1 (1 → 32 channels, 28×28, batch 64): XNNPACK's matMul 10.3 ms, this
 * 3.8–5.0, the panels 6.2–6.4. From two channels on the panels are faster (3 → 16 on 32×32:
 * 5.8 → 4.5 ms; 4 → 32 on 28×28: 13.4 → 9.3; 3 → 64, 7×7 stride 2: 27 → 20).
 */
export const filterGradientDirect = { maxInChannels: 1 };

/**
 * The direct sum, in runs of `filterGradientGroup.positions` output positions (each run summed
 * in float32, in position order; the runs in float64, as the panel path sums its runs); null
 * when the SIMD module cannot run here.
 */
function accumulateDirect(ctx: KernelContext, x: TensorInfo, dy: TensorInfo, info: Conv2DInfo): Float64Array | null {
  const P = patchSize(info);
  const K = info.outChannels;
  const M = info.batchSize * info.outHeight * info.outWidth;
  const run = ctx.zeros([P * K], "float32");
  try {
    const part = ctx.floats(run);
    const xs = ctx.floats(x);
    const dys = ctx.floats(dy);
    const exports = simd.exportsFor(xs, dys, part);
    if (exports === null) return null;
    const acc = new Float64Array(P * K);
    const step = Math.max(1, filterGradientGroup.positions);
    for (let m0 = 0; m0 < M; m0 += step) {
      const m1 = Math.min(M, m0 + step);
      exports.accumulate(xs.byteOffset, dys.byteOffset, part.byteOffset, m0, m1, ...geometryArgs(info), K);
      for (let i = 0; i < P * K; i++) acc[i] += part[i]!;
      part.fill(0);
    }
    return acc;
  } finally {
    ctx.free(run);
  }
}

export function conv2dBackpropFilterDirect(
  ctx: KernelContext,
  inputs: Record<string, TensorInfo>,
  attrs: NamedAttrMap,
): TensorInfo {
  const { x, dy, filterShape, info } = geometry(ctx, inputs, attrs);
  const out = ctx.empty(filterShape, "float32");
  const dW = accumulateFilterGradient(ctx.floats(x), ctx.floats(dy), info);
  (ctx.values(out) as Float32Array).set(dW);
  return out;
}

function accumulateFilterGradient(x: Float32Array, dy: Float32Array, g: Conv2DInfo): Float64Array {
  const { batchSize: N, inHeight: H, inWidth: W, inChannels: C, outHeight: OH, outWidth: OW } = g;
  const { filterHeight: FH, filterWidth: FW, strideHeight: sh, strideWidth: sw, outChannels: K } = g;
  const { dilationHeight: dh, dilationWidth: dw } = g;
  const pt = g.padInfo.top;
  const pl = g.padInfo.left;
  const acc = new Float64Array(FH * FW * C * K);
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
            const xOff = ((n * H + ih) * W + iw) * C;
            const tap = (fh * FW + fw) * C;
            let c = 0;
            for (; c < C4; c += 4) {
              const a0 = x[xOff + c];
              const a1 = x[xOff + c + 1];
              const a2 = x[xOff + c + 2];
              const a3 = x[xOff + c + 3];
              const o0 = (tap + c) * K;
              const o1 = o0 + K;
              const o2 = o1 + K;
              const o3 = o2 + K;
              for (let k = 0; k < K; k++) {
                const d = dy[dyOff + k];
                acc[o0 + k] += a0 * d;
                acc[o1 + k] += a1 * d;
                acc[o2 + k] += a2 * d;
                acc[o3 + k] += a3 * d;
              }
            }
            for (; c < C; c++) {
              const a = x[xOff + c];
              const o = (tap + c) * K;
              for (let k = 0; k < K; k++) acc[o + k] += a * dy[dyOff + k];
            }
          }
        }
      }
    }
  }
  return acc;
}
