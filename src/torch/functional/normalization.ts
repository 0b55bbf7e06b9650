import { tf } from "../tf.ts";
import { noGrad } from "../autograd/grad_mode.ts";
import { fusedKernelApplies } from "../backends/kernels/fused_op.ts";
import { BATCH_NORM } from "../backends/kernels/batch_norm.ts";
import { LAYER_NORM } from "../backends/kernels/layer_norm.ts";
import { shapeStr } from "./_util.ts";

export interface BatchNormOptions {
  weight?: tf.Tensor | null;
  bias?: tf.Tensor | null;
  /** Use batch statistics (and update the running ones). Default false, as in `F.batch_norm`. */
  training?: boolean;
  /** Weight of the new batch statistic in the running average (default 0.1). */
  momentum?: number;
  eps?: number;
}

/**
 * Batch normalisation over dimension 1 of [N, C, *] input, PyTorch semantics.
 *
 * Training: normalise with the batch mean and biased variance, and (when running statistics
 * are given) update them in place as `(1 - momentum) * running + momentum * batch`, using the
 * unbiased variance `var * n / (n - 1)` for `runningVar` as PyTorch does. Evaluation: normalise
 * with the running statistics. The running statistics must be variables to be updated.
 */
export function batchNorm(
  x: tf.Tensor,
  runningMean: tf.Tensor | null,
  runningVar: tf.Tensor | null,
  options: BatchNormOptions = {},
): tf.Tensor {
  const { weight = null, bias = null, training = false, momentum = 0.1, eps = 1e-5 } = options;
  if (x.rank < 2) throw new Error(`batchNorm(): expected input of shape [N, C, *], got ${shapeStr(x.shape)}`);
  const c = (x.shape as number[])[1];
  for (const [name, t] of [
    ["runningMean", runningMean],
    ["runningVar", runningVar],
    ["weight", weight],
    ["bias", bias],
  ] as const) {
    if (t != null && (t.rank !== 1 || t.shape[0] !== c)) {
      throw new Error(
        `batchNorm(): ${name} must have shape [${c}] for input ${shapeStr(x.shape)}, got ${shapeStr(t.shape)}`,
      );
    }
  }
  const axes = [0, ...Array.from({ length: x.rank - 2 }, (_, i) => i + 2)];
  const bshape = [1, c, ...Array(x.rank - 2).fill(1)];
  const useBatchStats = training || runningMean == null || runningVar == null;
  const n = x.size / c;
  if (useBatchStats && training && n <= 1) {
    throw new Error(
      `batchNorm(): expected more than 1 value per channel when training, got input size ${shapeStr(x.shape)}`,
    );
  }
  return tf.tidy(() => {
    if (!useBatchStats) {
      // y = x * scale + shift with per-channel scale = w / sqrt(rv + eps), shift = b - rm * scale.
      let scale = tf.rsqrt(tf.add(runningVar!, eps));
      if (weight) scale = tf.mul(scale, weight);
      let shift = tf.neg(tf.mul(runningMean!, scale));
      if (bias) shift = tf.add(shift, bias);
      return tf.add(tf.mul(x, tf.reshape(scale, bshape)), tf.reshape(shift, bshape));
    }
    if (x.dtype === "float32" && fusedKernelApplies(BATCH_NORM)) {
      // One kernel each way (batch_norm.ts), statistics in float64 as PyTorch's CPU kernel; not
      // under 16-bit "all" emulation, which rounds each op of the chain below.
      const inputs: Record<string, tf.Tensor> = { x, weight: weight ?? tf.ones([c]) };
      if (bias) inputs.bias = bias;
      const [out, mean, , variance] = tf.engine().runKernel(BATCH_NORM, inputs, { eps } as unknown as tf.NamedAttrMap) as tf.Tensor[];
      if (training && runningMean != null && runningVar != null) {
        updateRunning(runningMean, mean!, momentum, c);
        updateRunning(runningVar, variance!, momentum, c, n / (n - 1));
      }
      return out!;
    }
    // Per-channel values are spread to [N, C, 1, 1] before meeting x, so that their gradients
    // (sums of dy over N·H·W) are summed in two stages too: over H·W by the broadcasting op, then
    // over N by this multiply's gradient.
    const ones = x.rank > 2 ? tf.ones([x.shape[0], ...Array(x.rank - 1).fill(1)]) : null;
    const perSample = (t: tf.Tensor) => (ones ? tf.mul(t, ones) : t);
    const mean = stagedMean(x, axes);
    const centered = tf.sub(x, perSample(mean));
    const variance = stagedMean(tf.square(centered), axes);
    let scale = tf.rsqrt(tf.add(variance, eps));
    if (weight) scale = tf.mul(scale, tf.reshape(weight, bshape));
    let out = tf.mul(centered, perSample(scale));
    if (bias) out = tf.add(out, perSample(tf.reshape(bias, bshape)));
    if (training && runningMean != null && runningVar != null) {
      updateRunning(runningMean, mean, momentum, c);
      updateRunning(runningVar, variance, momentum, c, n / (n - 1));
    }
    return out;
  });
}

/**
 * The mean over `axes` (kept as size-1 dimensions), in two stages when more than one axis is
 * reduced: first over the last reduced axis and every reduced axis after the first gap-free run
 * ending there (for BatchNorm's [0, 2, 3]: H·W), then over the rest (N).
 *
 * tfjs sums a reduction in float32, in order; PyTorch accumulates batch statistics in double.
 * One float32 mean over N·H·W = 50,176 values put BatchNorm2d's loss 8e-6 from float64 PyTorch
 * and its step-0 gradients 1–3% off; the two-stage mean sums at most max(H·W, N) values in
 * float32 and brought them to 2.7e-8 and ≤ 1.1e-5. Equal-sized groups make it the exact mean.
 */
function stagedMean(x: tf.Tensor, axes: number[]): tf.Tensor {
  let first = axes.length - 1;
  while (first > 0 && axes[first - 1] === axes[first] - 1) first--;
  if (first === 0) {
    // One contiguous run of reduced axes (LayerNorm's trailing dims): split off the last axis.
    if (axes.length < 2) return tf.mean(x, axes, true);
    first = axes.length - 1;
  }
  const inner = tf.mean(x, axes.slice(first), true);
  return tf.mean(inner, axes.slice(0, first), true);
}

function updateRunning(running: tf.Tensor, batchStat: tf.Tensor, momentum: number, c: number, correction = 1): void {
  if (!(running instanceof tf.Variable)) {
    throw new Error("batchNorm(): running statistics must be tf.Variables (buffers) to be updated in training mode");
  }
  noGrad(() => {
    const stat = tf.reshape(batchStat, [c]);
    const next = tf.add(tf.mul(running, 1 - momentum), tf.mul(stat, momentum * correction));
    running.assign(next);
  });
}

export interface LayerNormOptions {
  weight?: tf.Tensor | null;
  bias?: tf.Tensor | null;
  eps?: number;
}

/**
 * Layer normalisation over the trailing dimensions given by `normalizedShape`, with the biased
 * variance, then the optional element-wise affine `weight` / `bias` of that shape.
 */
export function layerNorm(x: tf.Tensor, normalizedShape: number | number[], options: LayerNormOptions = {}): tf.Tensor {
  const shape = typeof normalizedShape === "number" ? [normalizedShape] : normalizedShape;
  const { weight = null, bias = null, eps = 1e-5 } = options;
  const k = shape.length;
  const tail = x.shape.slice(x.rank - k);
  if (x.rank < k || !tf.util.arraysEqual(tail, shape)) {
    throw new Error(`layerNorm(): expected input of shape [*, ${shape.join(", ")}], got ${shapeStr(x.shape)}`);
  }
  for (const [name, t] of [
    ["weight", weight],
    ["bias", bias],
  ] as const) {
    if (t != null && !tf.util.arraysEqual(t.shape, shape)) {
      throw new Error(`layerNorm(): ${name} must have shape ${shapeStr(shape)}, got ${shapeStr(t.shape)}`);
    }
  }
  const axes = Array.from({ length: k }, (_, i) => x.rank - k + i);
  return tf.tidy(() => {
    if (x.dtype === "float32" && fusedKernelApplies(LAYER_NORM)) {
      // One kernel each way (layer_norm.ts), statistics in float64; not under 16-bit "all"
      // emulation, which rounds each op of the chain below.
      const inputs = { x, weight: weight ?? tf.ones(shape), bias: bias ?? tf.zeros(shape) };
      return (tf.engine().runKernel(LAYER_NORM, inputs, { eps } as unknown as tf.NamedAttrMap) as tf.Tensor[])[0]!;
    }
    const mean = stagedMean(x, axes);
    const centered = tf.sub(x, mean);
    const variance = stagedMean(tf.square(centered), axes);
    let out = tf.mul(centered, tf.rsqrt(tf.add(variance, eps)));
    if (weight) out = tf.mul(out, weight);
    if (bias) out = tf.add(out, bias);
    return out;
  });
}
