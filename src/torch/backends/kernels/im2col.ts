import type { backend_util } from "@tensorflow/tfjs-core";
import { WasmHeapModule } from "../wasm_heap_module.ts";
import { IM2COL_SIMD_WASM } from "./im2col_simd_wasm.ts";

const simd = new WasmHeapModule<{ im2colTransposed(...args: number[]): void }>(IM2COL_SIMD_WASM);

/**
 * im2col / col2im: the rearrangements that turn a 2-D convolution's gradients into one
 * matrix product each, so they run on the backend's fast matMul instead of a 7-deep loop.
 *
 * Everything is channels-last (NHWC input, filter [FH, FW, C, K]). A patch row index
 * p = (fh * FW + fw) * C + c matches the filter's memory order, so a [P, K] product is the
 * filter gradient as laid out, and a [M, P] product scatters straight back onto the input.
 * Output positions m = ((n - n0) * OH + oh) * OW + ow cover images [n0, n1).
 */
export type ConvGeometry = Pick<
  backend_util.Conv2DInfo,
  | "inHeight"
  | "inWidth"
  | "inChannels"
  | "outHeight"
  | "outWidth"
  | "filterHeight"
  | "filterWidth"
  | "strideHeight"
  | "strideWidth"
  | "dilationHeight"
  | "dilationWidth"
> & { padInfo: { top: number; left: number } };

/**
 * The geometry as the convolution modules (`*.wat` here) take it, in their parameter order:
 * H, W, C, OH, OW, FH, FW, stride h and w, dilation h and w, padding top and left.
 */
export function geometryArgs(g: ConvGeometry): number[] {
  return [
    g.inHeight,
    g.inWidth,
    g.inChannels,
    g.outHeight,
    g.outWidth,
    g.filterHeight,
    g.filterWidth,
    g.strideHeight,
    g.strideWidth,
    g.dilationHeight,
    g.dilationWidth,
    g.padInfo.top,
    g.padInfo.left,
  ];
}

/** Rows of the patch matrix: filterHeight * filterWidth * inChannels. */
export function patchSize(g: ConvGeometry): number {
  return g.filterHeight * g.filterWidth * g.inChannels;
}

/** Whether im2colTransposed may take its WebAssembly SIMD pass (tests turn it off to compare). */
export const imMatrixSimd = { enabled: true };

/**
 * Writes the transposed patch matrix [P, M] of images [n0, n1) of `x` into `out` (zeros where
 * a tap falls into the padding). Transposed so that `patchesT x dy` needs no transposed matMul,
 * which tfjs's WASM backend runs on a slow path.
 */
export function im2colTransposed(x: Float32Array, g: ConvGeometry, n0: number, n1: number, out: Float32Array): void {
  const { inHeight: H, inWidth: W, inChannels: C, outHeight: OH, outWidth: OW } = g;
  const { filterHeight: FH, filterWidth: FW, strideHeight: sh, strideWidth: sw } = g;
  const { dilationHeight: dh, dilationWidth: dw } = g;
  const pt = g.padInfo.top;
  const pl = g.padInfo.left;
  // Channels in fours on the WASM heap: 4×4 blocks transposed in WebAssembly SIMD (im2col_simd.wat),
  // 6.0 → 3.0 ms for the benchmark CNN's conv2 (32 channels, 14×14, batch 64).
  const exports = C % 4 === 0 && imMatrixSimd.enabled ? simd.exportsFor(x, out) : null;
  if (exports !== null) {
    exports.im2colTransposed(x.byteOffset, out.byteOffset, n0, n1, ...geometryArgs(g));
    return;
  }
  const M = (n1 - n0) * OH * OW;
  for (let fh = 0; fh < FH; fh++) {
    for (let fw = 0; fw < FW; fw++) {
      const tapRow = (fh * FW + fw) * C;
      let m = 0;
      for (let n = n0; n < n1; n++) {
        for (let oh = 0; oh < OH; oh++) {
          const ih = oh * sh + fh * dh - pt;
          if (ih < 0 || ih >= H) {
            for (let c = 0; c < C; c++) out.fill(0, (tapRow + c) * M + m, (tapRow + c) * M + m + OW);
            m += OW;
            continue;
          }
          const xRow = (n * H + ih) * W;
          for (let ow = 0; ow < OW; ow++, m++) {
            const iw = ow * sw + fw * dw - pl;
            let dst = tapRow * M + m;
            if (iw < 0 || iw >= W) {
              for (let c = 0; c < C; c++, dst += M) out[dst] = 0;
            } else {
              const src = (xRow + iw) * C;
              for (let c = 0; c < C; c++, dst += M) out[dst] = x[src + c];
            }
          }
        }
      }
    }
  }
}

/**
 * Adds the column matrix `cols` [M, P] of images [n0, n1) back onto the input gradient `dx`
 * (NHWC, whole batch): every patch entry lands on the pixel it was read from, and taps that
 * fell into the padding are dropped.
 */
export function col2imAdd(cols: Float32Array, g: ConvGeometry, n0: number, n1: number, dx: Float32Array): void {
  const { inHeight: H, inWidth: W, inChannels: C, outHeight: OH, outWidth: OW } = g;
  const { filterHeight: FH, filterWidth: FW, strideHeight: sh, strideWidth: sw } = g;
  const { dilationHeight: dh, dilationWidth: dw } = g;
  const pt = g.padInfo.top;
  const pl = g.padInfo.left;
  const P = FH * FW * C;
  let src = 0;
  for (let n = n0; n < n1; n++) {
    for (let oh = 0; oh < OH; oh++) {
      for (let ow = 0; ow < OW; ow++, src += P) {
        for (let fh = 0; fh < FH; fh++) {
          const ih = oh * sh + fh * dh - pt;
          if (ih < 0 || ih >= H) continue;
          const dxRow = (n * H + ih) * W;
          for (let fw = 0; fw < FW; fw++) {
            const iw = ow * sw + fw * dw - pl;
            if (iw < 0 || iw >= W) continue;
            const dst = (dxRow + iw) * C;
            const s = src + (fh * FW + fw) * C;
            for (let c = 0; c < C; c++) dx[dst + c] += cols[s + c];
          }
        }
      }
    }
  }
}

/**
 * Upper bound on a patch or column matrix, in elements (32 MiB of float32 by default): the
 * batch is processed in chunks of whole images that stay under it, so a large input does not
 * need a patch matrix FH·FW times its own size at once.
 */
export const patchMatrixLimit = { elements: 1 << 23 };

/** How many images per chunk keep the patch matrix under the limit: at least one, at most the batch. */
export function imagesPerChunk(g: ConvGeometry, batch: number): number {
  const perImage = g.outHeight * g.outWidth * patchSize(g);
  return Math.max(1, Math.min(batch, Math.floor(patchMatrixLimit.elements / Math.max(1, perImage))));
}
