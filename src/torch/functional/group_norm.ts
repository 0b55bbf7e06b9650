import { tf } from "../tf.ts";
import { shapeStr } from "./_util.ts";

export interface GroupNormOptions {
  /** Per-channel scale [C]. */
  weight?: tf.Tensor | null;
  /** Per-channel shift [C]. */
  bias?: tf.Tensor | null;
  eps?: number;
}

/**
 * `F.group_norm`: input [N, C, *]; each sample's channels are split into `numGroups` groups,
 * each group is normalised over its channels and spatial positions with the biased variance,
 * then the per-channel affine is applied.
 */
export function groupNorm(x: tf.Tensor, numGroups: number, options: GroupNormOptions = {}): tf.Tensor {
  const fn = "groupNorm()";
  const { weight = null, bias = null, eps = 1e-5 } = options;
  if (x.rank < 2) throw new Error(`${fn}: expected input of shape [N, C, *], got ${shapeStr(x.shape)}`);
  const [n, c] = x.shape as number[];
  if (!Number.isInteger(numGroups) || numGroups < 1 || c % numGroups !== 0) {
    throw new Error(`${fn}: expected number of channels in input (${c}) to be divisible by numGroups (${numGroups})`);
  }
  for (const [name, t] of [
    ["weight", weight],
    ["bias", bias],
  ] as const) {
    if (t != null && (t.rank !== 1 || t.shape[0] !== c))
      throw new Error(`${fn}: ${name} must have shape [${c}], got ${shapeStr(t.shape)}`);
  }
  const bshape = [1, c, ...Array(x.rank - 2).fill(1)];
  return tf.tidy(() => {
    const g = tf.reshape(x, [n, numGroups, -1]);
    const mean = tf.mean(g, 2, true);
    const centered = tf.sub(g, mean);
    const variance = tf.mean(tf.square(centered), 2, true);
    let out = tf.reshape(tf.mul(centered, tf.rsqrt(tf.add(variance, eps))), x.shape);
    if (weight) out = tf.mul(out, tf.reshape(weight, bshape));
    if (bias) out = tf.add(out, tf.reshape(bias, bshape));
    return out;
  });
}
