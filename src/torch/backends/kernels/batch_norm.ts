import type { NamedAttrMap, TensorInfo } from "@tensorflow/tfjs-core";
import { tf } from "../../tf.ts";
import type { KernelContext } from "./kernel_context.ts";
import { ChannelRuns } from "./normalization_passes.ts";

/**
 * Batch normalisation in training (`nn.BatchNorm1d/2d/3d`, `F.batchNorm(training: true)`) as
 * one kernel, and its backward as one kernel for the input and one for each affine parameter,
 * as PyTorch's CPU `native_batch_norm` and its backward compute them: the batch statistics
 * accumulated in float64 (PyTorch's accumulate type for float on CPU), the variance in a second
 * pass over the deviations, and
 *   y = (x − mean) · invstd · w + b,
 *   dx = (dy − Σdy / n − (x − mean) · invstd² · Σ(x − mean)·dy / n) · invstd · w,
 *   dw = Σ(x − mean)·dy · invstd,  db = Σdy,
 * each element in float64 and rounded once. With tfjs's ops a BatchNorm2d was ~15 kernels
 * forward and ~30 backward, each a pass over the activation or a few µs of dispatch for a
 * [C]-sized one; the statistics were float32 means in two stages.
 *
 * x is [N, C, S…]; a channel's values are N runs of S = ∏S… contiguous elements.
 */
export const BATCH_NORM = "LightningTsBatchNorm";
export const BATCH_NORM_GRAD = "LightningTsBatchNormGrad";
export const BATCH_NORM_PARAM_GRAD = "LightningTsBatchNormParamGrad";
export const BATCH_NORM_KERNELS = [BATCH_NORM, BATCH_NORM_GRAD, BATCH_NORM_PARAM_GRAD];

function layout(x: TensorInfo): { N: number; C: number; S: number } {
  const [N, C] = x.shape as [number, number];
  return { N, C, S: x.shape.slice(2).reduce((a, b) => a * b, 1) };
}

/**
 * Inputs x, weight [C] (ones when the layer has none), optional bias [C]; attribute eps.
 * Outputs y, the batch mean [C], 1 / sqrt(var + eps) [C] and the biased variance [C] (the
 * running statistics are updated from mean and variance by the caller).
 */
export function batchNorm(ctx: KernelContext, inputs: Record<string, TensorInfo>, attrs: NamedAttrMap): TensorInfo[] {
  const { x, weight, bias } = inputs as { x: TensorInfo; weight: TensorInfo; bias?: TensorInfo };
  const { N, C, S } = layout(x);
  const yOut = ctx.empty(x.shape, "float32");
  const meanOut = ctx.empty([C], "float32");
  const invstdOut = ctx.empty([C], "float32");
  const varOut = ctx.empty([C], "float32");
  // Element arrays only now: on WASM the allocations above may have grown the heap.
  const xs = ctx.floats(x);
  const ws = ctx.floats(weight);
  const bs = bias === undefined ? null : ctx.floats(bias);
  const y = ctx.values(yOut) as Float32Array;
  const means = ctx.values(meanOut) as Float32Array;
  const invstds = ctx.values(invstdOut) as Float32Array;
  const vars = ctx.values(varOut) as Float32Array;
  const runs = new ChannelRuns(N, C, S, [xs, y]);
  const eps = attrs.eps as number;
  const n = N * S;
  for (let c = 0; c < C; c++) {
    const mean = runs.sum(xs, c, 0, false) / n;
    const variance = runs.sum(xs, c, mean, true) / n;
    means[c] = mean;
    invstds[c] = 1 / Math.sqrt(variance + eps);
    vars[c] = variance;
    // As PyTorch, the normalisation uses the float32 mean and invstd it saves for the backward.
    const invstd = invstds[c]!;
    runs.normalize(xs, y, c, means[c]!, invstd * ws[c]!, bs === null ? 0 : bs[c]!);
  }
  return [yOut, meanOut, invstdOut, varOut];
}

/** Inputs dy, x, mean, invstd, weight (the forward's, saved): the input's gradient. */
export function batchNormGrad(ctx: KernelContext, inputs: Record<string, TensorInfo>): TensorInfo {
  const { dy, x, mean, invstd, weight } = inputs as Record<"dy" | "x" | "mean" | "invstd" | "weight", TensorInfo>;
  const { N, C, S } = layout(x);
  const out = ctx.empty(x.shape, "float32");
  const dys = ctx.floats(dy);
  const xs = ctx.floats(x);
  const means = ctx.floats(mean);
  const invstds = ctx.floats(invstd);
  const ws = ctx.floats(weight);
  const dx = ctx.values(out) as Float32Array;
  const runs = new ChannelRuns(N, C, S, [xs, dys, dx]);
  const n = N * S;
  for (let c = 0; c < C; c++) {
    const m = means[c]!;
    const is = invstds[c]!;
    const sumDy = runs.sum(dys, c, 0, false);
    const dot = runs.dot(xs, dys, c, m);
    runs.inputGrad(xs, dys, dx, c, m, (dot * is * is) / n, sumDy / n, is * ws[c]!);
  }
  return out;
}

/** Inputs dy, x, mean, invstd; attribute `param`: "weight" (Σ(x − mean)·dy · invstd) or "bias" (Σdy), [C]. */
export function batchNormParamGrad(
  ctx: KernelContext,
  inputs: Record<string, TensorInfo>,
  attrs: NamedAttrMap,
): TensorInfo {
  const { dy, x, mean, invstd } = inputs as Record<"dy" | "x" | "mean" | "invstd", TensorInfo>;
  const { N, C, S } = layout(x);
  const out = ctx.empty([C], "float32");
  const dys = ctx.floats(dy);
  const xs = ctx.floats(x);
  const means = ctx.floats(mean);
  const invstds = ctx.floats(invstd);
  const g = ctx.values(out) as Float32Array;
  const runs = new ChannelRuns(N, C, S, [xs, dys]);
  for (let c = 0; c < C; c++) {
    g[c] = attrs.param === "weight" ? runs.dot(xs, dys, c, means[c]!) * invstds[c]! : runs.sum(dys, c, 0, false);
  }
  return out;
}

/** The gradient of BATCH_NORM (through y; the statistics it also returns feed only the running averages). */
export const batchNormGradient: tf.GradConfig = {
  kernelName: BATCH_NORM,
  inputsToSave: ["x", "weight"],
  outputsToSave: [false, true, true, false],
  gradFunc: (dys, saved) => {
    const [x, weight, mean, invstd] = saved as [tf.Tensor, tf.Tensor, tf.Tensor, tf.Tensor];
    const dy = (Array.isArray(dys) ? dys[0] : dys) as tf.Tensor;
    const run = (name: string, ins: Record<string, tf.Tensor>, attrs: object = {}) =>
      tf.engine().runKernel(name, ins, attrs as tf.NamedAttrMap) as tf.Tensor;
    return {
      x: () => run(BATCH_NORM_GRAD, { dy, x, mean, invstd, weight }),
      weight: () => run(BATCH_NORM_PARAM_GRAD, { dy, x, mean, invstd }, { param: "weight" }),
      bias: () => run(BATCH_NORM_PARAM_GRAD, { dy, x, mean, invstd }, { param: "bias" }),
    };
  },
};
