import { tf } from "../tf.ts";
import { noGrad } from "../autograd/grad_mode.ts";
import { shapeStr } from "./_util.ts";

export interface InstanceNormOptions {
  runningMean?: tf.Tensor | null;
  runningVar?: tf.Tensor | null;
  weight?: tf.Tensor | null;
  bias?: tf.Tensor | null;
  /** Normalise with each instance's own statistics (default true); false uses the running ones. */
  useInputStats?: boolean;
  momentum?: number;
  eps?: number;
}

/**
 * `F.instance_norm`: input [N, C, *]; each (sample, channel) is normalised over its spatial
 * positions with the biased variance. With running statistics and `useInputStats`, they move by
 * `momentum` toward the batch-average of the per-instance means and *unbiased* variances, which
 * is what PyTorch's batch-norm-on-[1, N C, *] formulation does.
 */
export function instanceNorm(x: tf.Tensor, options: InstanceNormOptions = {}): tf.Tensor {
  const fn = "instanceNorm()";
  const {
    runningMean = null,
    runningVar = null,
    weight = null,
    bias = null,
    useInputStats = true,
    momentum = 0.1,
    eps = 1e-5,
  } = options;
  if (x.rank < 3)
    throw new Error(`${fn}: expected input of shape [N, C, *] with spatial dims, got ${shapeStr(x.shape)}`);
  const c = x.shape[1] as number;
  for (const [name, t] of [
    ["runningMean", runningMean],
    ["runningVar", runningVar],
    ["weight", weight],
    ["bias", bias],
  ] as const) {
    if (t != null && (t.rank !== 1 || t.shape[0] !== c))
      throw new Error(`${fn}: ${name} must have shape [${c}], got ${shapeStr(t.shape)}`);
  }
  if (!useInputStats && (runningMean == null || runningVar == null))
    throw new Error(`${fn}: expected runningMean and runningVar when useInputStats is false`);
  const axes = Array.from({ length: x.rank - 2 }, (_, i) => i + 2);
  const bshape = [1, c, ...Array(x.rank - 2).fill(1)];
  const m = axes.reduce((a, d) => a * x.shape[d], 1);
  if (useInputStats && m <= 1) {
    throw new Error(`${fn}: expected more than 1 spatial element when training, got input size ${shapeStr(x.shape)}`);
  }
  return tf.tidy(() => {
    let out: tf.Tensor;
    if (useInputStats) {
      const mean = tf.mean(x, axes, true);
      const centered = tf.sub(x, mean);
      const variance = tf.mean(tf.square(centered), axes, true);
      out = tf.mul(centered, tf.rsqrt(tf.add(variance, eps)));
      if (runningMean != null && runningVar != null) {
        update(runningMean, mean, momentum, c, 1);
        update(runningVar, variance, momentum, c, m / (m - 1));
      }
    } else {
      out = tf.mul(tf.sub(x, tf.reshape(runningMean!, bshape)), tf.reshape(tf.rsqrt(tf.add(runningVar!, eps)), bshape));
    }
    if (weight) out = tf.mul(out, tf.reshape(weight, bshape));
    if (bias) out = tf.add(out, tf.reshape(bias, bshape));
    return out;
  });
}

function update(running: tf.Tensor, stat: tf.Tensor, momentum: number, c: number, correction: number): void {
  if (!(running instanceof tf.Variable))
    throw new Error("instanceNorm(): running statistics must be tf.Variables (buffers) to be updated");
  noGrad(() => {
    // Mean over the batch of the per-instance statistics.
    const batchStat = tf.mean(tf.reshape(stat, [-1, c]), 0);
    running.assign(tf.add(tf.mul(running, 1 - momentum), tf.mul(batchStat, momentum * correction)));
  });
}
