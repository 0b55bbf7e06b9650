import { tf } from "../tf.ts";
import { checkReduction, mask, reduce, shapeStr, warnOnce, type Reduction } from "./_util.ts";

export interface RegressionLossOptions {
  reduction?: Reduction;
}

/**
 * PyTorch broadcasts input against target but warns when their shapes differ, because an
 * output of [N, 1] against a target of [N] silently becomes an [N, N] loss.
 */
function checkShapes(input: tf.Tensor, target: tf.Tensor, fn: string): void {
  if (!tf.util.arraysEqual(input.shape, target.shape)) {
    warnOnce(
      `${fn}: using a target size (${shapeStr(target.shape)}) that is different to the input size (${shapeStr(input.shape)}). ` +
        "This will likely lead to incorrect results due to broadcasting. Please ensure they have the same size.",
    );
  }
}

/** Mean squared error, `(input - target)^2` reduced. */
export function mseLoss(input: tf.Tensor, target: tf.Tensor, options: RegressionLossOptions = {}): tf.Tensor {
  const { reduction = "mean" } = options;
  checkReduction(reduction, "mseLoss()");
  checkShapes(input, target, "mseLoss()");
  return tf.tidy(() => reduce(tf.squaredDifference(input, target), reduction));
}

/**
 * Mean absolute error, `|input - target|` reduced. Written `d * sign(d)` so the gradient at
 * d = 0 is sign(0) = 0 as in PyTorch (tfjs's Abs gradient there is -1).
 */
export function l1Loss(input: tf.Tensor, target: tf.Tensor, options: RegressionLossOptions = {}): tf.Tensor {
  const { reduction = "mean" } = options;
  checkReduction(reduction, "l1Loss()");
  checkShapes(input, target, "l1Loss()");
  return tf.tidy(() => {
    const d = tf.sub(input, target);
    return reduce(tf.mul(d, tf.sign(d)), reduction);
  });
}

export interface SmoothL1LossOptions extends RegressionLossOptions {
  /** Where the loss switches from quadratic to linear (default 1). */
  beta?: number;
}

/** `0.5 d^2 / beta` for |d| < beta, else `|d| - 0.5 beta` (PyTorch's smooth L1). */
export function smoothL1Loss(input: tf.Tensor, target: tf.Tensor, options: SmoothL1LossOptions = {}): tf.Tensor {
  const { reduction = "mean", beta = 1.0 } = options;
  checkReduction(reduction, "smoothL1Loss()");
  if (!(beta >= 0)) throw new Error(`smoothL1Loss(): beta must be non-negative, got ${beta}`);
  checkShapes(input, target, "smoothL1Loss()");
  return tf.tidy(() => {
    const ad = tf.abs(tf.sub(input, target));
    if (beta === 0) return reduce(ad, reduction);
    const loss = tf.where(
      mask(() => tf.greaterEqual(ad, beta)),
      tf.sub(ad, 0.5 * beta),
      tf.div(tf.mul(tf.square(ad), 0.5), beta),
    );
    return reduce(loss, reduction);
  });
}

export interface HuberLossOptions extends RegressionLossOptions {
  delta?: number;
}

/** `0.5 d^2` for |d| <= delta, else `delta (|d| - 0.5 delta)` (PyTorch's Huber loss). */
export function huberLoss(input: tf.Tensor, target: tf.Tensor, options: HuberLossOptions = {}): tf.Tensor {
  const { reduction = "mean", delta = 1.0 } = options;
  checkReduction(reduction, "huberLoss()");
  if (!(delta > 0)) throw new Error(`huberLoss(): delta must be positive, got ${delta}`);
  checkShapes(input, target, "huberLoss()");
  return tf.tidy(() => {
    const ad = tf.abs(tf.sub(input, target));
    const loss = tf.where(
      mask(() => tf.greaterEqual(delta, ad)),
      tf.mul(tf.square(ad), 0.5),
      tf.mul(tf.sub(ad, 0.5 * delta), delta),
    );
    return reduce(loss, reduction);
  });
}
