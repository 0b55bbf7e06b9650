import { tf } from "../tf.ts";
import { LOG_SOFTMAX } from "../backends/kernels/log_softmax.ts";
import { fusedKernelApplies } from "../backends/kernels/fused_op.ts";
import { mask, normDim } from "./_util.ts";

/**
 * Activations, `torch.nn.functional` style. Each is built from tfjs ops that have registered
 * gradients, so `loss.backward()` differentiates them like any other op.
 */

export function relu(x: tf.Tensor): tf.Tensor {
  return tf.relu(x);
}

export function relu6(x: tf.Tensor): tf.Tensor {
  return tf.relu6(x);
}

export function leakyRelu(x: tf.Tensor, negativeSlope = 0.01): tf.Tensor {
  return tf.leakyRelu(x, negativeSlope);
}

export function elu(x: tf.Tensor, alpha = 1.0): tf.Tensor {
  if (alpha === 1) return tf.elu(x);
  // tfjs's elu has a fixed alpha of 1: scale the negative part.
  // x <= 0 takes the exponential branch, as PyTorch's backward does at exactly 0.
  return tf.tidy(() =>
    tf.where(
      mask(() => tf.greaterEqual(0, x)),
      tf.mul(tf.expm1(tf.minimum(x, 0)), alpha),
      x,
    ),
  );
}

export function selu(x: tf.Tensor): tf.Tensor {
  return tf.selu(x);
}

export function sigmoid(x: tf.Tensor): tf.Tensor {
  return tf.sigmoid(x);
}

export function logsigmoid(x: tf.Tensor): tf.Tensor {
  return tf.logSigmoid(x);
}

export function tanh(x: tf.Tensor): tf.Tensor {
  return tf.tanh(x);
}

/** `silu(x) = x * sigmoid(x)` (a.k.a. swish). */
export function silu(x: tf.Tensor): tf.Tensor {
  return tf.tidy(() => tf.mul(x, tf.sigmoid(x)));
}

export interface SoftplusOptions {
  beta?: number;
  /** Above `beta * x > threshold` the function is the identity (avoids exp overflow). */
  threshold?: number;
}

/** `softplus(x) = log(1 + exp(beta x)) / beta`, linear where `beta x > threshold` (torch). */
export function softplus(x: tf.Tensor, options: SoftplusOptions = {}): tf.Tensor {
  const { beta = 1, threshold = 20 } = options;
  return tf.tidy(() => {
    const bx = beta === 1 ? x : tf.mul(x, beta);
    const soft = beta === 1 ? tf.softplus(bx) : tf.div(tf.softplus(bx), beta);
    return tf.where(
      mask(() => tf.greaterEqual(threshold, bx)),
      soft,
      x,
    );
  });
}

export interface GeluOptions {
  /** "none" (default): the exact erf form, PyTorch's default. "tanh": the tanh approximation. */
  approximate?: "none" | "tanh";
}

/**
 * GELU. The default is the exact `0.5 x (1 + erf(x / sqrt 2))`, as in PyTorch (tfjs-layers'
 * gelu is the tanh approximation, which differs by up to ~1e-3).
 */
export function gelu(x: tf.Tensor, options: GeluOptions = {}): tf.Tensor {
  const approximate = options.approximate ?? "none";
  if (approximate !== "none" && approximate !== "tanh") {
    throw new Error(`gelu(): approximate must be "none" or "tanh", got "${approximate}"`);
  }
  return tf.tidy(() => {
    if (approximate === "tanh") {
      // 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))
      const inner = tf.mul(tf.add(x, tf.mul(tf.pow(x, 3), 0.044715)), Math.sqrt(2 / Math.PI));
      return tf.mul(tf.mul(x, 0.5), tf.add(tf.tanh(inner), 1));
    }
    return tf.mul(tf.mul(x, 0.5), tf.add(tf.erf(tf.mul(x, Math.SQRT1_2)), 1));
  });
}

/** Moves `dim` to the last axis (tfjs's softmax kernels only reduce over the last axis). */
function alongDim(x: tf.Tensor, dim: number, fn: string, op: (t: tf.Tensor) => tf.Tensor): tf.Tensor {
  if (x.rank === 0) return op(x.reshape([1])).reshape([]);
  const d = normDim(dim, x.rank, fn);
  if (d === x.rank - 1) return op(x);
  return tf.tidy(() => {
    const perm = [...Array(x.rank).keys()];
    perm[d] = x.rank - 1;
    perm[x.rank - 1] = d;
    // The permutation is a swap, so it is its own inverse.
    return tf.transpose(op(tf.transpose(x, perm)), perm);
  });
}

function requireDim(dim: number | undefined, fn: string): number {
  if (dim === undefined || dim === null) {
    // PyTorch warns and guesses a dim (0 for rank 0, 1 or 3, else 1); guessing silently picks
    // the batch axis for [C, H, W] inputs, so here the dim is required.
    throw new Error(
      `${fn}: pass the dimension to normalise over, e.g. ${fn.replace("()", "")}(x, -1) (PyTorch's implicit dim is deprecated)`,
    );
  }
  return dim;
}

/** Softmax over `dim` (required: PyTorch's implicit choice is deprecated). */
export function softmax(x: tf.Tensor, dim: number): tf.Tensor {
  return alongDim(x, requireDim(dim, "softmax()"), "softmax()", (t) => tf.softmax(t));
}

/** Log-softmax over `dim`, computed stably (not `log(softmax(x))`). */
export function logSoftmax(x: tf.Tensor, dim: number): tf.Tensor {
  // One kernel where the backend has it (backends/kernels/log_softmax.ts), unless 16-bit
  // emulation rounds every op's output: then tfjs's ops, each rounded.
  const fused = x.dtype === "float32" && fusedKernelApplies(LOG_SOFTMAX);
  const op = fused ? (t: tf.Tensor) => tf.engine().runKernel(LOG_SOFTMAX, { x: t }) as tf.Tensor : (t: tf.Tensor) => tf.logSoftmax(t);
  return alongDim(x, requireDim(dim, "logSoftmax()"), "logSoftmax()", op);
}

export interface NormalizeOptions {
  p?: number;
  dim?: number;
  eps?: number;
}

/** `x / max(||x||_p, eps)` along `dim` (default 1), like `F.normalize`. */
export function normalize(x: tf.Tensor, options: NormalizeOptions = {}): tf.Tensor {
  const { p = 2, dim = 1, eps = 1e-12 } = options;
  const d = normDim(dim, x.rank, "normalize()");
  return tf.tidy(() => {
    let norm: tf.Tensor;
    // Clamping before the square root keeps the gradient of an all-zero row at 0 instead of
    // 0 * inf = NaN; the forward value is the same max(||x||, eps).
    if (p === 2) return tf.div(x, tf.sqrt(tf.maximum(tf.sum(tf.square(x), d, true), eps * eps)));
    if (p === 1) norm = tf.sum(tf.abs(x), d, true);
    else if (p === Infinity) norm = tf.max(tf.abs(x), d, true);
    else norm = tf.pow(tf.sum(tf.pow(tf.abs(x), p), d, true), 1 / p);
    return tf.div(x, tf.maximum(norm, eps));
  });
}
