import { tf } from "../tf.ts";
import { normDim, shapeStr } from "./_util.ts";

export interface CosineSimilarityOptions {
  /** Dimension of the vectors (default 1), in the broadcast shape. */
  dim?: number;
  eps?: number;
}

function broadcastRank(fn: string, a: tf.Tensor, b: tf.Tensor): number {
  try {
    return tf.broadcast_util.assertAndGetBroadcastShape(a.shape, b.shape).length;
  } catch {
    throw new Error(`${fn}: inputs of shapes ${shapeStr(a.shape)} and ${shapeStr(b.shape)} are not broadcastable`);
  }
}

/**
 * `F.cosine_similarity` as PyTorch >= 1.12 computes it: each input divided by its own norm
 * clamped at eps, `sum(x1 / max(||x1||, eps) * x2 / max(||x2||, eps), dim)`.
 */
export function cosineSimilarity(x1: tf.Tensor, x2: tf.Tensor, options: CosineSimilarityOptions = {}): tf.Tensor {
  const fn = "cosineSimilarity()";
  const { dim = 1, eps = 1e-8 } = options;
  const rank = broadcastRank(fn, x1, x2);
  const d = normDim(dim, rank, fn);
  return tf.tidy(() => {
    const a = x1.rank < rank ? tf.reshape(x1, [...Array(rank - x1.rank).fill(1), ...x1.shape]) : x1;
    const b = x2.rank < rank ? tf.reshape(x2, [...Array(rank - x2.rank).fill(1), ...x2.shape]) : x2;
    const n1 = tf.maximum(tf.sqrt(tf.sum(tf.square(a), d, true)), eps);
    const n2 = tf.maximum(tf.sqrt(tf.sum(tf.square(b), d, true)), eps);
    return tf.sum(tf.mul(tf.div(a, n1), tf.div(b, n2)), d);
  });
}

export interface PairwiseDistanceOptions {
  /** Norm degree (default 2); Infinity for the max norm. */
  p?: number;
  eps?: number;
  keepdim?: boolean;
}

/** The p-norm of `t` over `axis` (p > 0 or Infinity). */
function pNorm(t: tf.Tensor, p: number, axis: number, keepDims: boolean): tf.Tensor {
  if (p === 2) return tf.sqrt(tf.sum(tf.square(t), axis, keepDims));
  if (p === 1) return tf.sum(tf.abs(t), axis, keepDims);
  if (p === Infinity) return tf.max(tf.abs(t), axis, keepDims);
  return tf.pow(tf.sum(tf.pow(tf.abs(t), p), axis, keepDims), 1 / p);
}

/**
 * `F.pairwise_distance`: `||x1 - x2 + eps||_p` over the last dimension of the broadcast shape
 * (eps is added to the difference, as PyTorch does).
 */
export function pairwiseDistance(x1: tf.Tensor, x2: tf.Tensor, options: PairwiseDistanceOptions = {}): tf.Tensor {
  const fn = "pairwiseDistance()";
  const { p = 2, eps = 1e-6, keepdim = false } = options;
  if (!(p > 0)) throw new Error(`${fn}: p must be positive (or Infinity), got ${p}`);
  const rank = broadcastRank(fn, x1, x2);
  if (rank === 0) throw new Error(`${fn}: expected inputs with at least one dimension`);
  return tf.tidy(() => pNorm(tf.add(tf.sub(x1, x2), eps), p, rank - 1, keepdim));
}
