import type { NamedAttrMap, TensorInfo } from "@tensorflow/tfjs-core";
import { tf } from "../../tf.ts";
import type { KernelContext } from "./kernel_context.ts";

/**
 * `F.crossEntropy` over [N, C] logits and class-index targets, no class weights or label
 * smoothing, `mean` or `sum` — the classifier's loss in nearly every script — as one kernel and
 * one gradient kernel instead of tfjs's ~20 (log-softmax, one-hot, products, sums, and their
 * gradients), whose dispatch and tape entries cost more than their arithmetic: the MLP
 * benchmark's step 1.12–1.29x faster (bench/cross_entropy.ts). Each row's log-sum-exp is
 * taken in float64 (PyTorch's log_softmax accumulates in a wider type too), so the loss is
 * within float32 rounding of the exact one; the gradient is (softmax − one-hot)·dy, divided by
 * the rows counted for `mean`. Rows whose target is `ignoreIndex` count for nothing, as in
 * PyTorch (all ignored: `mean` is NaN).
 */
export const CROSS_ENTROPY = "LightningTsCrossEntropy";
export const CROSS_ENTROPY_GRAD = "LightningTsCrossEntropyGrad";

interface Rows {
  logits: Float32Array;
  target: Int32Array | Float32Array;
  n: number;
  c: number;
  ignoreIndex: number;
}

/**
 * The inputs' element arrays. On WASM these are views of the heap, which any allocation may grow
 * (memory.grow detaches every view taken before it: length 0, each read `undefined`, each row
 * NaN): take them only after the kernel's output is allocated.
 */
function rows(ctx: KernelContext, inputs: Record<string, TensorInfo>, attrs: NamedAttrMap): Rows {
  const [n, c] = inputs.logits!.shape as [number, number];
  return { logits: ctx.floats(inputs.logits!), target: ctx.values(inputs.target!) as Int32Array, n, c, ignoreIndex: attrs.ignoreIndex as number };
}

/** Row i's maximum and Σ exp(x − max), in float64. */
function rowStats(x: Float32Array, i: number, c: number): [number, number] {
  let m = -Infinity;
  for (let k = 0; k < c; k++) m = Math.max(m, x[i * c + k]!);
  let s = 0;
  for (let k = 0; k < c; k++) s += Math.exp(x[i * c + k]! - m);
  return [m, s];
}

export function crossEntropy(ctx: KernelContext, inputs: Record<string, TensorInfo>, attrs: NamedAttrMap): TensorInfo {
  const out = ctx.empty([], "float32");
  const { logits, target, n, c, ignoreIndex } = rows(ctx, inputs, attrs);
  let total = 0;
  let counted = 0;
  for (let i = 0; i < n; i++) {
    const t = target[i]!;
    if (t === ignoreIndex) continue;
    const [m, s] = rowStats(logits, i, c);
    total += m + Math.log(s) - logits[i * c + t]!;
    counted++;
  }
  (ctx.values(out) as Float32Array)[0] = attrs.reduction === "sum" ? total : total / counted;
  return out;
}

export function crossEntropyGrad(ctx: KernelContext, inputs: Record<string, TensorInfo>, attrs: NamedAttrMap): TensorInfo {
  // The output first: allocating [N, C] may grow the WASM heap (the transformer tutorial's
  // 200 × 753 did, at its 12th step), which would detach arrays taken before it.
  const out = ctx.zeros(inputs.logits!.shape, "float32");
  const { logits, target, n, c, ignoreIndex } = rows(ctx, inputs, attrs);
  const dx = ctx.values(out) as Float32Array;
  let counted = 0;
  for (let i = 0; i < n; i++) if (target[i] !== ignoreIndex) counted++;
  const dy = ctx.floats(inputs.dy!)[0]!;
  const scale = attrs.reduction === "sum" ? dy : dy / counted;
  // Each exp once (in float64, kept for the row), as rowStats sums them.
  const e = new Float64Array(c);
  for (let i = 0; i < n; i++) {
    const t = target[i]!;
    if (t === ignoreIndex) continue;
    let m = -Infinity;
    for (let k = 0; k < c; k++) m = Math.max(m, logits[i * c + k]!);
    let s = 0;
    for (let k = 0; k < c; k++) s += e[k] = Math.exp(logits[i * c + k]! - m);
    for (let k = 0; k < c; k++) dx[i * c + k] = (e[k]! / s - (k === t ? 1 : 0)) * scale;
  }
  return out;
}

/** The gradient of CROSS_ENTROPY, for the tape: registered once with the kernels. */
export const crossEntropyGradient: tf.GradConfig = {
  kernelName: CROSS_ENTROPY,
  inputsToSave: ["logits", "target"],
  gradFunc: (dy, saved, attrs) => {
    const [logits, target] = saved as [tf.Tensor, tf.Tensor];
    return {
      logits: () => tf.engine().runKernel(CROSS_ENTROPY_GRAD, { dy: dy as tf.Tensor, logits, target }, attrs as NamedAttrMap) as tf.Tensor,
      target: () => tf.zerosLike(target),
    };
  },
};
