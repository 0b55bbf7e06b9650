import { tf } from "./tf.ts";
import { nextOpSeed, streams } from "./random.ts";

/**
 * PyTorch's random tensor constructors. Each draws its tfjs seed from the random-ops stream,
 * so `manualSeed` reproduces them without touching initialisation or data order.
 */
export function randn(shape: number[]): tf.Tensor {
  return tf.randomNormal(shape, 0, 1, "float32", nextOpSeed());
}

export function rand(shape: number[]): tf.Tensor {
  return tf.randomUniform(shape, 0, 1, "float32", nextOpSeed());
}

/** Integers in [low, high), int32. */
export function randint(low: number, high: number, shape: number[]): tf.Tensor {
  if (!(high > low)) throw new Error(`randint: high (${high}) must be greater than low (${low})`);
  return tf.randomUniformInt(shape, low, high, nextOpSeed());
}

export function randnLike(t: tf.Tensor): tf.Tensor {
  return randn(t.shape);
}

export function randLike(t: tf.Tensor): tf.Tensor {
  return rand(t.shape);
}

/** A random permutation of 0..n-1 as an int32 tensor (drawn from the data-order stream, like shuffles). */
export function randperm(n: number): tf.Tensor {
  return tf.tensor1d(streams.data.randperm(n), "int32");
}
