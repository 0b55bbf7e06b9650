import { tf } from "../tf.ts";
import { noGrad } from "../autograd/grad_mode.ts";
import { dropout } from "./dropout.ts";
import { shapeStr } from "./_util.ts";

export interface ScaledDotProductAttentionOptions {
  /**
   * Broadcastable to [..., L, S]. Boolean: true = may attend (PyTorch 2.0's convention for this
   * function; `nn.MultiheadAttention`'s boolean masks mean the opposite, as in PyTorch). Float:
   * added to the scores.
   */
  attnMask?: tf.Tensor | null;
  /** Dropout on the attention weights, applied whenever > 0 (pass 0 in eval, as in PyTorch). */
  dropoutP?: number;
  /** Lower-triangular mask (query i attends to keys 0..i); exclusive with `attnMask`. */
  isCausal?: boolean;
}

/**
 * `F.scaledDotProductAttention(q, k, v)` with PyTorch 2.0's semantics:
 * `softmax(q kᵀ / sqrt(E) + mask) v`, q [..., L, E], k [..., S, E], v [..., S, Ev] → [..., L, Ev].
 * A row whose every key is masked out gives NaN, as in PyTorch.
 */
export function scaledDotProductAttention(
  query: tf.Tensor,
  key: tf.Tensor,
  value: tf.Tensor,
  options: ScaledDotProductAttentionOptions = {},
): tf.Tensor {
  const { attnMask = null, dropoutP = 0, isCausal = false } = options;
  if (query.rank < 2 || key.rank < 2 || value.rank < 2) {
    throw new Error(
      `scaledDotProductAttention(): query, key and value need at least 2 dimensions, got ${shapeStr(query.shape)}, ${shapeStr(key.shape)}, ${shapeStr(value.shape)}`,
    );
  }
  const e = query.shape[query.rank - 1];
  if (key.shape[key.rank - 1] !== e || key.shape[key.rank - 2] !== value.shape[value.rank - 2]) {
    throw new Error(
      `scaledDotProductAttention(): expected query [..., L, E], key [..., S, E], value [..., S, Ev], got ${shapeStr(query.shape)}, ${shapeStr(key.shape)}, ${shapeStr(value.shape)}`,
    );
  }
  if (isCausal && attnMask) throw new Error("scaledDotProductAttention(): pass either attnMask or isCausal, not both");
  const l = query.shape[query.rank - 2];
  const s = key.shape[key.rank - 2];
  const mask = isCausal ? causalMask(l, s) : attnMask;
  try {
    return attend(query, key, value, mask, dropoutP, 1 / Math.sqrt(e), "keep");
  } finally {
    if (isCausal) mask!.dispose();
  }
}

/** [L, S] boolean, true on and below the diagonal. */
function causalMask(l: number, s: number): tf.Tensor {
  return noGrad(() => tf.tidy(() => tf.cast(tf.linalg.bandPart(tf.ones([l, s]), -1, 0), "bool")));
}

/**
 * The shared core: `softmax(scale · q kᵀ + mask) v` and the (post-dropout) weights.
 * `boolMeans` says what `true` means in a boolean mask: "keep" (PyTorch 2.0's function) or
 * "drop" (`nn.MultiheadAttention`'s masks).
 */
export function attend(
  q: tf.Tensor,
  k: tf.Tensor,
  v: tf.Tensor,
  mask: tf.Tensor | null,
  dropoutP: number,
  scale: number,
  boolMeans: "keep" | "drop",
): tf.Tensor;
export function attend(
  q: tf.Tensor,
  k: tf.Tensor,
  v: tf.Tensor,
  mask: tf.Tensor | null,
  dropoutP: number,
  scale: number,
  boolMeans: "keep" | "drop",
  withWeights: true,
): [tf.Tensor, tf.Tensor];
export function attend(
  q: tf.Tensor,
  k: tf.Tensor,
  v: tf.Tensor,
  mask: tf.Tensor | null,
  dropoutP: number,
  scale: number,
  boolMeans: "keep" | "drop",
  withWeights = false,
): tf.Tensor | [tf.Tensor, tf.Tensor] {
  const [out, weights] = tf.tidy(() => {
    let scores = tf.matMul(tf.mul(q, scale), k, false, true);
    if (mask) scores = applyMask(scores, mask, boolMeans);
    let w = tf.softmax(scores, -1);
    if (dropoutP > 0) w = dropout(w, { p: dropoutP, training: true });
    return [tf.matMul(w, v), w] as [tf.Tensor, tf.Tensor];
  });
  if (withWeights) return [out, weights];
  weights.dispose();
  return out;
}

/** scores + mask for a float mask; -inf where a boolean mask blocks. */
export function applyMask(scores: tf.Tensor, mask: tf.Tensor, boolMeans: "keep" | "drop"): tf.Tensor {
  if (mask.dtype !== "bool") return tf.add(scores, mask);
  const blocked = noGrad(() =>
    tf.tidy(() =>
      tf.broadcastTo(boolMeans === "keep" ? tf.logicalNot(mask) : mask, broadcastShape(scores.shape, mask.shape)),
    ),
  );
  const out = tf.where(blocked, tf.fill(blocked.shape, -Infinity), scores);
  blocked.dispose();
  return out;
}

function broadcastShape(a: readonly number[], b: readonly number[]): number[] {
  const n = Math.max(a.length, b.length);
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const x = a[a.length - n + i] ?? 1;
    const y = b[b.length - n + i] ?? 1;
    if (x !== y && x !== 1 && y !== 1)
      throw new Error(`attention mask of shape ${shapeStr(b)} does not broadcast to scores ${shapeStr(a)}`);
    out.push(Math.max(x, y));
  }
  return out;
}
