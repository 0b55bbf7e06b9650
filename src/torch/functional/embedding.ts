import { tf } from "../tf.ts";
import { shapeStr, cheapToRead } from "./_util.ts";

export interface EmbeddingOptions {
  /** Rows at this index get no gradient (their value is returned as stored). */
  paddingIdx?: number | null;
}

/**
 * Looks up rows of `weight` ([num, dim]) for integer `indices` of any shape: the result has
 * shape [...indices.shape, dim]. The gradient is a scatter-add into the rows (tfjs's
 * UnsortedSegmentSum). With `paddingIdx`, that row's gradient is zero, as in PyTorch.
 */
export function embedding(indices: tf.Tensor, weight: tf.Tensor, options: EmbeddingOptions = {}): tf.Tensor {
  if (weight.rank !== 2)
    throw new Error(`embedding(): weight must be [num_embeddings, embedding_dim], got ${shapeStr(weight.shape)}`);
  if (indices.dtype !== "int32") {
    throw new Error(
      `embedding(): indices must be an int32 tensor (class/token ids), got ${indices.dtype}; use tf.cast(x, "int32")`,
    );
  }
  const [num, dim] = weight.shape;
  let paddingIdx = options.paddingIdx ?? null;
  if (paddingIdx != null) {
    if (!Number.isInteger(paddingIdx) || paddingIdx < -num || paddingIdx >= num) {
      throw new Error(`embedding(): paddingIdx must be within num_embeddings (${num}), got ${paddingIdx}`);
    }
    if (paddingIdx < 0) paddingIdx += num;
  }
  if (cheapToRead()) {
    // Out-of-range ids would read garbage on some backends instead of failing.
    const ids = indices.dataSync();
    for (let i = 0; i < ids.length; i++) {
      if (ids[i] < 0 || ids[i] >= num)
        throw new Error(`embedding(): index ${ids[i]} is out of range for ${num} embeddings`);
    }
  }
  if (paddingIdx == null) return tf.gather(weight, indices);
  const pad = paddingIdx;
  // A custom gradient: the forward is the plain gather; the backward is the gather's own
  // gradient with the padding positions' upstream gradient zeroed.
  const lookup = tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
    const [w, save] = args as [tf.Tensor, tf.GradSaveFunc];
    save([indices]);
    return {
      value: tf.gather(w, indices),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [idx] = saved;
        const keep = tf.expandDims(tf.cast(tf.notEqual(idx, pad), "float32"), -1);
        const flatIdx = tf.reshape(idx, [-1]) as tf.Tensor1D;
        const flatDy = tf.reshape(tf.mul(dy, keep), [-1, dim]);
        return [tf.unsortedSegmentSum(flatDy, flatIdx, num)];
      },
    };
  });
  return lookup(weight);
}
