import { tf } from "../tf";
import { noGrad } from "../autograd/grad_mode";
import { shapeStr } from "./_util";

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
    const mean = tf.mean(x, axes, true);
    const centered = tf.sub(x, mean);
    const variance = tf.mean(tf.square(centered), axes, true);
    let scale = tf.rsqrt(tf.add(variance, eps));
    if (weight) scale = tf.mul(scale, tf.reshape(weight, bshape));
    let out = tf.mul(centered, scale);
    if (bias) out = tf.add(out, tf.reshape(bias, bshape));
    if (training && runningMean != null && runningVar != null) {
      updateRunning(runningMean, mean, momentum, c);
      updateRunning(runningVar, variance, momentum, c, n / (n - 1));
    }
    return out;
  });
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
    const mean = tf.mean(x, axes, true);
    const centered = tf.sub(x, mean);
    const variance = tf.mean(tf.square(centered), axes, true);
    let out = tf.mul(centered, tf.rsqrt(tf.add(variance, eps)));
    if (weight) out = tf.mul(out, weight);
    if (bias) out = tf.add(out, bias);
    return out;
  });
}
