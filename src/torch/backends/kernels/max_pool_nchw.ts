import type { NamedAttrMap, TensorInfo } from "@tensorflow/tfjs-core";
import { tf } from "../../tf.ts";
import type { KernelContext } from "./kernel_context.ts";
import { WasmHeapModule } from "../wasm_heap_module.ts";
import { MAX_POOL_NCHW_SIMD_WASM } from "./max_pool_nchw_simd_wasm.ts";

/**
 * 2-D max pooling on NCHW tensors, PyTorch's layout, with PyTorch's rule: in each window (taps in
 * row-major order, those in the padding skipped) the first tap starts as the maximum and a later
 * tap replaces it when it is greater or NaN, so a NaN wins and, among equal values, the first
 * does; the gradient goes to that tap. tfjs pools channels-last only: F.maxPool2d transposed the
 * input in and the output out, and the gradient both ways — 6M of the benchmark CNN's 12M
 * transposed elements per step — and its WASM kernel lets a window holding NaN give -inf.
 *
 * attrs: `kernel`, `stride`, `padding`, `dilation` and `out` ([height, width] each), as
 * F.maxPool2d's geometry computes them (ceil mode included: its last window runs past the input,
 * and the taps there are skipped like padding).
 */
export const MAX_POOL_NCHW = "LightningTsMaxPoolNCHW";
export const MAX_POOL_NCHW_GRAD = "LightningTsMaxPoolNCHWGrad";

const simd = new WasmHeapModule<{ pool2x2(...args: number[]): void; grad2x2(...args: number[]): void }>(MAX_POOL_NCHW_SIMD_WASM);

interface Geometry {
  planes: number;
  H: number;
  W: number;
  OH: number;
  OW: number;
  kh: number;
  kw: number;
  sh: number;
  sw: number;
  ph: number;
  pw: number;
  dh: number;
  dw: number;
}

function geometryOf(x: TensorInfo, attrs: NamedAttrMap): Geometry {
  const [N, C, H, W] = x.shape as [number, number, number, number];
  const [kh, kw] = attrs.kernel as [number, number];
  const [sh, sw] = attrs.stride as [number, number];
  const [ph, pw] = attrs.padding as [number, number];
  const [dh, dw] = attrs.dilation as [number, number];
  const [OH, OW] = attrs.out as [number, number];
  return { planes: N * C, H, W, OH, OW, kh, kw, sh, sw, ph, pw, dh, dw };
}

/** 2×2, stride 2, no padding or dilation, windows inside the input: the SIMD pass's case. */
function isPlain2x2(g: Geometry): boolean {
  const { kh, kw, sh, sw, ph, pw, dh, dw } = g;
  return kh === 2 && kw === 2 && sh === 2 && sw === 2 && ph === 0 && pw === 0 && dh === 1 && dw === 1 && 2 * g.OH <= g.H && 2 * g.OW <= g.W;
}

/**
 * Calls `visit(out, winner, best)` for each window: its index in the output, the element index
 * (in x) of the tap PyTorch's rule picks (-1 for a window with no tap inside) and its value.
 */
function eachWinner(x: Float32Array, g: Geometry, visit: (out: number, winner: number, best: number) => void): void {
  const { planes, H, W, OH, OW, kh, kw, sh, sw, ph, pw, dh, dw } = g;
  for (let p = 0; p < planes; p++) {
    const plane = p * H * W;
    for (let oi = 0; oi < OH; oi++) {
      for (let oj = 0; oj < OW; oj++) {
        let best = -Infinity;
        let winner = -1;
        for (let a = 0; a < kh; a++) {
          const ih = oi * sh - ph + a * dh;
          if (ih < 0 || ih >= H) continue;
          for (let b = 0; b < kw; b++) {
            const iw = oj * sw - pw + b * dw;
            if (iw < 0 || iw >= W) continue;
            const at = plane + ih * W + iw;
            const v = x[at]!;
            if (winner < 0 || v > best || v !== v) {
              best = v;
              winner = at;
            }
          }
        }
        visit((p * OH + oi) * OW + oj, winner, best);
      }
    }
  }
}

export function maxPoolNCHW(ctx: KernelContext, inputs: Record<string, TensorInfo>, attrs: NamedAttrMap): TensorInfo {
  const g = geometryOf(inputs.x!, attrs);
  const out = ctx.empty([...inputs.x!.shape.slice(0, 2), g.OH, g.OW], "float32");
  const x = ctx.floats(inputs.x!);
  const y = ctx.values(out) as Float32Array;
  if (isPlain2x2(g)) {
    const exports = simd.exportsFor(x, y);
    if (exports !== null) {
      exports.pool2x2(x.byteOffset, y.byteOffset, g.planes, g.H, g.W, g.OH, g.OW);
      return out;
    }
  }
  eachWinner(x, g, (at, winner, best) => {
    y[at] = winner < 0 ? -Infinity : best;
  });
  return out;
}

export function maxPoolNCHWGrad(ctx: KernelContext, inputs: Record<string, TensorInfo>, attrs: NamedAttrMap): TensorInfo {
  const g = geometryOf(inputs.x!, attrs);
  const out = ctx.zeros(inputs.x!.shape, "float32");
  const x = ctx.floats(inputs.x!);
  const dy = ctx.floats(inputs.dy!);
  const dx = ctx.values(out) as Float32Array;
  if (isPlain2x2(g)) {
    const exports = simd.exportsFor(x, dy, dx);
    if (exports !== null) {
      exports.grad2x2(x.byteOffset, dy.byteOffset, dx.byteOffset, g.planes, g.H, g.W, g.OH, g.OW);
      return out;
    }
  }
  // Windows may overlap (stride below the kernel): their gradients add up.
  eachWinner(x, g, (at, winner) => {
    if (winner >= 0) dx[winner] += dy[at]!;
  });
  return out;
}

/** The gradient of MAX_POOL_NCHW, for the tape: registered once with the kernels. */
export const maxPoolNCHWGradient: tf.GradConfig = {
  kernelName: MAX_POOL_NCHW,
  inputsToSave: ["x"],
  gradFunc: (dy, saved, attrs) => {
    const [x] = saved;
    return { x: () => tf.engine().runKernel(MAX_POOL_NCHW_GRAD, { dy: dy as tf.Tensor, x: x! }, attrs as NamedAttrMap) as tf.Tensor };
  },
};
