import type { NamedAttrMap, TensorInfo } from "@tensorflow/tfjs-core";
import { tf } from "../../tf.ts";
import type { KernelContext } from "./kernel_context.ts";
import { WasmHeapModule } from "../wasm_heap_module.ts";
import { MAX_POOL_GRAD_SIMD_WASM } from "./max_pool_grad_simd_wasm.ts";

const simd = new WasmHeapModule<{ pool2x2(...args: number[]): void }>(MAX_POOL_GRAD_SIMD_WASM);

/**
 * `MaxPoolGrad` (NHWC): each output's gradient goes to the first maximum of its window, as on
 * the pure-JS backend, TensorFlow and PyTorch; windows that overlap add up.
 *
 * WASM's own kernel starts its running maximum at `FLT_MIN` (the smallest positive float, not
 * the lowest), so in a window whose values are all ≤ 0 it never finds the maximum: the
 * gradient lands on element 0 of the tensor or nowhere. Any max-pool over negative inputs
 * (before a ReLU, after BatchNorm, `-inf` padding) trained wrongly; it was also ~20x slower
 * than this single pass. The common 2×2 / stride-2 pool runs the same rule in WebAssembly SIMD
 * (max_pool_grad_simd.wat).
 */
export function maxPoolGrad(ctx: KernelContext, inputs: Record<string, TensorInfo>, attrs: NamedAttrMap): TensorInfo {
  const { dy, input } = inputs;
  const g = tf.backend_util.computePool2DInfo(
    input.shape as [number, number, number, number],
    attrs.filterSize as [number, number] | number,
    attrs.strides as [number, number] | number,
    1,
    attrs.pad as "valid" | "same" | number,
    attrs.dimRoundingMode as "floor" | "round" | "ceil" | undefined,
  );
  const { batchSize: N, inHeight: H, inWidth: W, inChannels: C, outHeight: OH, outWidth: OW } = g;
  const { effectiveFilterHeight: FH, effectiveFilterWidth: FW, strideHeight: sh, strideWidth: sw } = g;
  const { dilationHeight: dh, dilationWidth: dw } = g;
  const pt = g.padInfo.top;
  const pl = g.padInfo.left;
  const out = ctx.zeros(input.shape, "float32");
  const x = ctx.floats(input);
  const grad = ctx.floats(dy);
  const dx = ctx.values(out) as Float32Array;
  // The usual 2×2 / stride-2 pool over channels in fours: WebAssembly SIMD on the WASM heap.
  if (FH === 2 && FW === 2 && sh === 2 && sw === 2 && dh === 1 && dw === 1 && pt === 0 && pl === 0 && C % 4 === 0 && 2 * OH <= H && 2 * OW <= W) {
    const exports = simd.exportsFor(x, grad, dx);
    if (exports !== null) {
      exports.pool2x2(x.byteOffset, grad.byteOffset, dx.byteOffset, N, H, W, C, OH, OW);
      return out;
    }
  }
  const best = new Float32Array(C);
  const where = new Int32Array(C);
  for (let n = 0; n < N; n++) {
    for (let oh = 0; oh < OH; oh++) {
      for (let ow = 0; ow < OW; ow++) {
        best.fill(-Infinity);
        where.fill(-1);
        for (let fh = 0; fh < FH; fh += dh) {
          const ih = oh * sh + fh - pt;
          if (ih < 0 || ih >= H) continue;
          for (let fw = 0; fw < FW; fw += dw) {
            const iw = ow * sw + fw - pl;
            if (iw < 0 || iw >= W) continue;
            const off = ((n * H + ih) * W + iw) * C;
            for (let c = 0; c < C; c++) {
              const v = x[off + c];
              if (v > best[c]) {
                best[c] = v;
                where[c] = off + c;
              }
            }
          }
        }
        const dyOff = ((n * OH + oh) * OW + ow) * C;
        for (let c = 0; c < C; c++) {
          if (where[c] >= 0) dx[where[c]] += grad[dyOff + c];
        }
      }
    }
  }
  return out;
}
