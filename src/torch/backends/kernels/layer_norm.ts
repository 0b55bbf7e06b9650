import type { NamedAttrMap, TensorInfo } from "@tensorflow/tfjs-core";
import { tf } from "../../tf.ts";
import type { KernelContext } from "./kernel_context.ts";
import { float64Scratch } from "./cross_entropy.ts";
import { LayerNormPasses } from "./normalization_passes.ts";

/**
 * Layer normalisation (`nn.LayerNorm`, `F.layerNorm`: every Transformer block has two) as one
 * kernel, and its backward as one kernel for the input and one for each affine parameter: with
 * tfjs's ops it was 9 kernels forward and ~20 backward, most of them over tensors of a few
 * thousand elements, where dispatch costs more than the arithmetic. Over each row of D =
 * ∏normalizedShape elements, in float64 (PyTorch's CPU kernel accumulates in float32):
 *   mean, var = Σ(x − mean)² / D, invstd = 1 / sqrt(var + eps), saved as float32,
 *   y = (x − mean)·invstd·w + b,
 *   dx = (dy·w − Σdy·w / D − (x − mean)·invstd²·Σ(x − mean)·dy·w / D)·invstd,
 *   dw = Σ_rows dy·(x − mean)·invstd,  db = Σ_rows dy,
 * each element a float64 expression rounded once (normalization_passes.ts).
 */
export const LAYER_NORM = "LightningTsLayerNorm";
export const LAYER_NORM_GRAD = "LightningTsLayerNormGrad";
export const LAYER_NORM_PARAM_GRAD = "LightningTsLayerNormParamGrad";
export const LAYER_NORM_KERNELS = [LAYER_NORM, LAYER_NORM_GRAD, LAYER_NORM_PARAM_GRAD];

/**
 * Inputs x [*, normalizedShape], weight and bias [normalizedShape] (ones and zeros when the
 * layer has none); attribute eps. Outputs y, the rows' means [R] and invstds [R].
 */
export function layerNorm(ctx: KernelContext, inputs: Record<string, TensorInfo>, attrs: NamedAttrMap): TensorInfo[] {
  const { x, weight, bias } = inputs as Record<"x" | "weight" | "bias", TensorInfo>;
  const D = weight.shape.reduce((a, b) => a * b, 1);
  const R = x.shape.reduce((a, b) => a * b, 1) / D;
  const yOut = ctx.empty(x.shape, "float32");
  const meanOut = ctx.empty([R], "float32");
  const invstdOut = ctx.empty([R], "float32");
  // Element arrays only now: on WASM the allocations above may have grown the heap.
  const xs = ctx.floats(x);
  const ws = ctx.floats(weight);
  const bs = ctx.floats(bias);
  const y = ctx.values(yOut) as Float32Array;
  const means = ctx.values(meanOut) as Float32Array;
  const invstds = ctx.values(invstdOut) as Float32Array;
  new LayerNormPasses(R, D, [xs, ws, bs, y, means, invstds]).forward(
    xs,
    ws,
    bs,
    y,
    means,
    invstds,
    attrs.eps as number,
  );
  return [yOut, meanOut, invstdOut];
}

/** Inputs dy, x, mean, invstd, weight (the forward's, saved): the input's gradient. */
export function layerNormGrad(ctx: KernelContext, inputs: Record<string, TensorInfo>): TensorInfo {
  const { dy, x, mean, invstd, weight } = inputs as Record<"dy" | "x" | "mean" | "invstd" | "weight", TensorInfo>;
  const D = weight.shape.reduce((a, b) => a * b, 1);
  const R = x.shape.reduce((a, b) => a * b, 1) / D;
  const out = ctx.empty(x.shape, "float32");
  const dys = ctx.floats(dy);
  const xs = ctx.floats(x);
  const means = ctx.floats(mean);
  const invstds = ctx.floats(invstd);
  const ws = ctx.floats(weight);
  const dx = ctx.values(out) as Float32Array;
  new LayerNormPasses(R, D, [dys, xs, means, invstds, ws, dx]).inputGrad(xs, dys, ws, means, invstds, dx);
  return out;
}

/** Inputs dy, x, mean, invstd, weight (for its shape); attribute `param`: "weight" or "bias". */
export function layerNormParamGrad(
  ctx: KernelContext,
  inputs: Record<string, TensorInfo>,
  attrs: NamedAttrMap,
): TensorInfo {
  const { dy, x, mean, invstd, weight } = inputs as Record<"dy" | "x" | "mean" | "invstd" | "weight", TensorInfo>;
  const D = weight.shape.reduce((a, b) => a * b, 1);
  const R = x.shape.reduce((a, b) => a * b, 1) / D;
  const out = ctx.empty(weight.shape, "float32");
  const acc = float64Scratch(ctx, D);
  const dys = ctx.floats(dy);
  const xs = ctx.floats(x);
  const means = ctx.floats(mean);
  const invstds = ctx.floats(invstd);
  const g = ctx.values(out) as Float32Array;
  acc.fill(0);
  new LayerNormPasses(R, D, [dys, xs, means, invstds, acc]).paramGrad(
    xs,
    dys,
    means,
    invstds,
    acc,
    attrs.param === "weight",
  );
  for (let j = 0; j < D; j++) g[j] = acc[j]!;
  return out;
}

/** The gradient of LAYER_NORM (through y; the statistics it also returns are for the backward only). */
export const layerNormGradient: tf.GradConfig = {
  kernelName: LAYER_NORM,
  inputsToSave: ["x", "weight"],
  outputsToSave: [false, true, true],
  gradFunc: (dys, saved) => {
    const [x, weight, mean, invstd] = saved as [tf.Tensor, tf.Tensor, tf.Tensor, tf.Tensor];
    const dy = (Array.isArray(dys) ? dys[0] : dys) as tf.Tensor;
    const run = (name: string, attrs: object = {}) =>
      tf.engine().runKernel(name, { dy, x, mean, invstd, weight }, attrs as tf.NamedAttrMap) as tf.Tensor;
    return {
      x: () => run(LAYER_NORM_GRAD),
      weight: () => run(LAYER_NORM_PARAM_GRAD, { param: "weight" }),
      bias: () => run(LAYER_NORM_PARAM_GRAD, { param: "bias" }),
    };
  },
};
