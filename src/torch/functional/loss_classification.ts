import { tf } from "../tf.ts";
import { CROSS_ENTROPY } from "../backends/kernels/cross_entropy.ts";
import { fusedKernelApplies } from "../backends/kernels/fused_op.ts";
import { checkReduction, cheapToRead, shapeStr, type Reduction } from "./_util.ts";

export interface NllLossOptions {
  /** Per-class rescaling weight, shape [C]. */
  weight?: tf.Tensor | null;
  /** Targets equal to this contribute nothing, not even to the mean's denominator. */
  ignoreIndex?: number;
  reduction?: Reduction;
}

export interface CrossEntropyOptions extends NllLossOptions {
  /** Mixes the target with the uniform distribution: (1 - s) * target + s / C. */
  labelSmoothing?: number;
}

/** Input with the class dimension moved last and flattened to [M, C], as PyTorch's dim 1. */
interface ClassLast {
  flat: tf.Tensor2D;
  /** Shape of per-element losses (and of class-index targets). */
  outShape: number[];
  c: number;
}

function classLast(x: tf.Tensor, fn: string): ClassLast {
  if (x.rank === 0) throw new Error(`${fn}: expected input of shape [N, C], [C] or [N, C, d1, ...], got a scalar`);
  const s = x.shape as number[];
  if (x.rank === 1) return { flat: tf.reshape(x, [1, s[0]]), outShape: [], c: s[0] };
  const c = s[1];
  if (x.rank === 2) return { flat: x as tf.Tensor2D, outShape: [s[0]], c };
  const perm = [0, ...Array.from({ length: x.rank - 2 }, (_, i) => i + 2), 1];
  return {
    flat: tf.reshape(tf.transpose(x, perm), [-1, c]),
    outShape: [s[0], ...s.slice(2)],
    c,
  };
}

function checkClassTarget(
  target: tf.Tensor,
  cl: ClassLast,
  inputShape: number[],
  fn: string,
  ignoreIndex: number,
): tf.Tensor1D {
  if (!tf.util.arraysEqual(target.shape, cl.outShape)) {
    throw new Error(
      `${fn}: expected class-index target of shape ${shapeStr(cl.outShape)} for input of shape ${shapeStr(inputShape)}, got ${shapeStr(target.shape)}`,
    );
  }
  // Labels made with tf.tensor([...]) are float32 by default: accept integral floats.
  const int = target.dtype === "int32" ? target : tf.cast(target, "int32");
  const t = int.rank === 1 ? int : tf.reshape(int, [-1]);
  if (cheapToRead()) {
    const v = t.dataSync();
    for (let i = 0; i < v.length; i++) {
      if (v[i] !== ignoreIndex && (v[i] < 0 || v[i] >= cl.c)) {
        throw new Error(
          `${fn}: target ${v[i]} is out of bounds for ${cl.c} classes (expected 0..${cl.c - 1}, or ignoreIndex ${ignoreIndex})`,
        );
      }
    }
  }
  return t as tf.Tensor1D;
}

function checkWeight(weight: tf.Tensor | null | undefined, c: number, fn: string): void {
  if (weight != null && (weight.rank !== 1 || weight.shape[0] !== c)) {
    throw new Error(
      `${fn}: weight must be a 1-D tensor with one entry per class ([${c}]), got ${shapeStr(weight.shape)}`,
    );
  }
}

/**
 * The negative log-likelihood of class-index targets with PyTorch's weighting, ignore index and
 * label smoothing. Per element i with target y (s = smoothing, w = class weights or ones):
 *   loss_i = -(1 - s) w_y logp_{i,y} - (s / C) sum_c w_c logp_{i,c}     (0 if y = ignoreIndex)
 * and "mean" divides the sum by sum_i w_{y_i} over the non-ignored elements — PyTorch's
 * definition, which for smoothing with weights is `cross_entropy_loss_label_smoothing`'s.
 */
function nllCore(
  logp: tf.Tensor2D,
  target: tf.Tensor1D,
  c: number,
  options: CrossEntropyOptions,
  outShape: number[],
): tf.Tensor {
  const { weight = null, ignoreIndex = -100, reduction = "mean", labelSmoothing = 0 } = options;
  // tf.oneHot leaves rows of out-of-range indices (such as the default -100) all zero.
  // int32 then cast: WASM's OneHot kernel ignores the dtype and writes int32 bits into a
  // float32 tensor (1 reads back as 1.4e-45).
  let oh = tf.cast(tf.oneHot(target, c), "float32");
  if (ignoreIndex >= 0 && ignoreIndex < c) {
    oh = tf.mul(oh, tf.expandDims(tf.cast(tf.notEqual(target, ignoreIndex), "float32"), 1));
  }
  const wOh = weight ? tf.mul(oh, weight) : oh;
  let coeff = wOh;
  if (labelSmoothing > 0) {
    const valid = tf.sum(oh, 1, true); // 1 for counted elements, 0 for ignored ones
    const uniform = weight ? tf.mul(valid, weight) : valid;
    coeff = tf.add(tf.mul(wOh, 1 - labelSmoothing), tf.mul(uniform, labelSmoothing / c));
  }
  const per = tf.neg(tf.sum(tf.mul(logp, coeff), 1));
  if (reduction === "none") return tf.reshape(per, outShape);
  if (reduction === "sum") return tf.sum(per);
  return tf.div(tf.sum(per), tf.sum(wOh));
}

/** Cross entropy against class probabilities (target with the input's shape). */
function softTargetCore(
  logp: tf.Tensor2D,
  target: tf.Tensor2D,
  c: number,
  options: CrossEntropyOptions,
  outShape: number[],
): tf.Tensor {
  const { weight = null, reduction = "mean", labelSmoothing = 0 } = options;
  let t: tf.Tensor = target;
  if (labelSmoothing > 0) t = tf.add(tf.mul(t, 1 - labelSmoothing), labelSmoothing / c);
  if (weight) t = tf.mul(t, weight);
  const per = tf.neg(tf.sum(tf.mul(logp, t), 1));
  if (reduction === "none") return tf.reshape(per, outShape);
  if (reduction === "sum") return tf.sum(per);
  // PyTorch divides by the number of elements, whatever the weights.
  return tf.mean(per);
}

/**
 * `F.cross_entropy`: log-softmax over dim 1 of the logits ([N, C], [C] or [N, C, d1, ...])
 * then the negative log-likelihood. `target` holds class indices (int32, shape [N] / [] /
 * [N, d1, ...]) or class probabilities (float32 with the input's shape).
 */
export function crossEntropy(input: tf.Tensor, target: tf.Tensor, options: CrossEntropyOptions = {}): tf.Tensor {
  const fn = "crossEntropy()";
  const { reduction = "mean", labelSmoothing = 0, ignoreIndex = -100 } = options;
  checkReduction(reduction, fn);
  if (!(labelSmoothing >= 0 && labelSmoothing <= 1))
    throw new Error(`${fn}: labelSmoothing must be between 0 and 1, got ${labelSmoothing}`);
  return tf.tidy(() => {
    const cl = classLast(input, fn);
    checkWeight(options.weight, cl.c, fn);
    // The common case as one op (cross_entropy.ts) where the backend has it. Under autocast it is
    // a float32 op either way (so a loss inside autocast and one outside agree); 16-bit-true
    // emulation rounds each of tfjs's ops as its own, so it keeps them.
    const soft = target.dtype === "float32" && tf.util.arraysEqual(target.shape, input.shape);
    const plain = !soft && input.rank === 2 && !options.weight && labelSmoothing === 0 && reduction !== "none" && input.dtype === "float32";
    if (plain && fusedKernelApplies(CROSS_ENTROPY)) {
      const t = checkClassTarget(target, cl, input.shape, fn, ignoreIndex);
      return tf.engine().runKernel(CROSS_ENTROPY, { logits: input, target: t }, { ignoreIndex, reduction } as unknown as tf.NamedAttrMap) as tf.Tensor;
    }
    const logp = tf.logSoftmax(cl.flat) as tf.Tensor2D;
    if (soft) return softTargetCore(logp, classLast(target, fn).flat, cl.c, options, cl.outShape);
    const t = checkClassTarget(target, cl, input.shape, fn, ignoreIndex);
    return nllCore(logp, t, cl.c, options, cl.outShape);
  });
}

/**
 * `F.nll_loss`: the negative log-likelihood of class-index targets given log-probabilities
 * (e.g. the output of `logSoftmax(x, 1)`), with class weights and an ignore index.
 */
export function nllLoss(input: tf.Tensor, target: tf.Tensor, options: NllLossOptions = {}): tf.Tensor {
  const fn = "nllLoss()";
  const { reduction = "mean", ignoreIndex = -100 } = options;
  checkReduction(reduction, fn);
  return tf.tidy(() => {
    const cl = classLast(input, fn);
    checkWeight(options.weight, cl.c, fn);
    const t = checkClassTarget(target, cl, input.shape, fn, ignoreIndex);
    return nllCore(cl.flat, t, cl.c, { ...options, labelSmoothing: 0 }, cl.outShape);
  });
}
