import type { NamedAttrMap, TensorInfo } from "@tensorflow/tfjs-core";
import { tf } from "../../tf.ts";
import type { KernelContext } from "./kernel_context.ts";
import { crossEntropySimd, expSum, float64Scratch, rowLogSumExp } from "./cross_entropy.ts";

/**
 * `F.logSoftmax` over the last axis as one kernel and one gradient kernel, with the exponentials
 * of the cross-entropy kernel (WebAssembly SIMD on WASM, the same operations in JS elsewhere).
 * `log_softmax` + `nll_loss` is how pytorch/examples' mnist and word_language_model write their
 * loss; tfjs's `logSoftmax` is six kernels (max, subtract, exp, sum, log, subtract) and a
 * gradient of as many, its exponentials one float32 `expf` at a time: on a language model's
 * [700, 33278] scores 23 million a step, forward and again backward. Each row's log-sum-exp is
 * taken in float64, so each output is x − (max + log Σ exp(x − max)) rounded once; the gradient
 * is dy − exp(y) · Σ dy per row, from the output y.
 */
export const LOG_SOFTMAX = "LightningTsLogSoftmax";
export const LOG_SOFTMAX_GRAD = "LightningTsLogSoftmaxGrad";

export function logSoftmax(ctx: KernelContext, inputs: Record<string, TensorInfo>): TensorInfo {
  const { x } = inputs as { x: TensorInfo };
  const c = x.shape[x.shape.length - 1]!;
  const out = ctx.empty(x.shape, "float32");
  // Element arrays only now: the allocation above may have grown (and detached) the heap.
  const xs = ctx.floats(x);
  const ys = ctx.values(out) as Float32Array;
  const simd = crossEntropySimd.exportsFor(xs);
  for (let from = 0; from < xs.length; from += c) {
    const lse = rowLogSumExp(xs, from, c, simd);
    for (let k = from; k < from + c; k++) ys[k] = xs[k]! - lse;
  }
  return out;
}

/** dx = dy − exp(y) · Σ dy, row by row, from dy and the forward's output y. */
export function logSoftmaxGrad(ctx: KernelContext, inputs: Record<string, TensorInfo>): TensorInfo {
  const { dy, y } = inputs as { dy: TensorInfo; y: TensorInfo };
  const c = y.shape[y.shape.length - 1]!;
  // Every allocation first (see logSoftmax); the row's exp(y), float64, in a scratch buffer of
  // this backend (on the heap, where the SIMD pass writes them).
  const out = ctx.empty(y.shape, "float32");
  const e = float64Scratch(ctx, c);
  const dx = ctx.values(out) as Float32Array;
  const ys = ctx.floats(y);
  const dys = ctx.floats(dy);
  const simd = crossEntropySimd.exportsFor(ys, e);
  for (let from = 0; from < ys.length; from += c) {
    // y ≤ 0, so exp(y − 0) is the exponential both passes take
    if (simd !== null) simd.expSum(ys.byteOffset + 4 * from, c, 0, e.byteOffset);
    else expSum(ys, from, c, 0, e);
    let total = 0;
    for (let k = from; k < from + c; k++) total += dys[k]!;
    for (let k = 0; k < c; k++) dx[from + k] = dys[from + k]! - e[k]! * total;
  }
  return out;
}

/** The gradient of LOG_SOFTMAX, for the tape: registered once with the kernels. */
export const logSoftmaxGradient: tf.GradConfig = {
  kernelName: LOG_SOFTMAX,
  outputsToSave: [true],
  gradFunc: (dy, saved) => {
    const [y] = saved as [tf.Tensor];
    return { x: () => tf.engine().runKernel(LOG_SOFTMAX_GRAD, { dy: dy as tf.Tensor, y }) as tf.Tensor };
  },
};
