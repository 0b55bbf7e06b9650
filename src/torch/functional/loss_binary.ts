import { tf } from "../tf.ts";
import { checkReduction, reduce, shapeStr, type Reduction } from "./_util.ts";
import { isAutocastEnabled } from "../amp/autocast.ts";

export interface BinaryCrossEntropyOptions {
  /** Rescaling weight broadcast against the input. */
  weight?: tf.Tensor | null;
  reduction?: Reduction;
}

export interface BinaryCrossEntropyWithLogitsOptions extends BinaryCrossEntropyOptions {
  /** Weight of the positive examples, broadcast along the class (last) dimension. */
  posWeight?: tf.Tensor | null;
}

function checkSameShape(input: tf.Tensor, target: tf.Tensor, fn: string): void {
  if (!tf.util.arraysEqual(input.shape, target.shape)) {
    throw new Error(
      `${fn}: target size ${shapeStr(target.shape)} must be the same as input size ${shapeStr(input.shape)}`,
    );
  }
}

/**
 * Element-wise BCE on probabilities with PyTorch's exact forward and backward: the logs are
 * clamped at -100 (so p = 0 or 1 gives a finite loss) and the input gradient is PyTorch's
 * `(x - t) / max(x (1 - x), 1e-12)`, which stays finite where the clamp is active (the
 * autodiff of a clamped log would give 0 * inf = NaN there).
 */
const bceElementwise = tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
  const [x, t, save] = args as [tf.Tensor, tf.Tensor, tf.GradSaveFunc];
  save([x, t]);
  const value = tf.tidy(() => {
    const logX = tf.maximum(tf.log(x), -100);
    const log1mX = tf.maximum(tf.log(tf.sub(1, x)), -100);
    return tf.neg(tf.add(tf.mul(t, logX), tf.mul(tf.sub(1, t), log1mX)));
  });
  return {
    value,
    gradFunc: (g: tf.Tensor, saved: tf.Tensor[]) => {
      const [sx, st] = saved;
      const dx = tf.div(tf.mul(g, tf.sub(sx, st)), tf.maximum(tf.mul(sx, tf.sub(1, sx)), 1e-12));
      // d/dt = log(1 - x) - log(x), with the same clamps (used when the target requires grad).
      const dt = tf.mul(g, tf.sub(tf.maximum(tf.log(tf.sub(1, sx)), -100), tf.maximum(tf.log(sx), -100)));
      return [dx, dt];
    },
  };
});

/** `F.binary_cross_entropy` on probabilities in [0, 1]; target has the input's shape. */
export function binaryCrossEntropy(
  input: tf.Tensor,
  target: tf.Tensor,
  options: BinaryCrossEntropyOptions = {},
): tf.Tensor {
  const fn = "binaryCrossEntropy()";
  if (isAutocastEnabled()) {
    // PyTorch's own refusal (aten/src/ATen/autocast_mode.cpp), in this library's names.
    throw new Error(
      "F.binaryCrossEntropy and nn.BCELoss are unsafe to autocast.\n" +
        "Many models use a sigmoid layer right before the binary cross entropy layer.\n" +
        "In this case, combine the two layers using F.binaryCrossEntropyWithLogits\n" +
        "or nn.BCEWithLogitsLoss.  F.binaryCrossEntropyWithLogits and nn.BCEWithLogitsLoss are\n" +
        "safe to autocast.",
    );
  }
  const { weight = null, reduction = "mean" } = options;
  checkReduction(reduction, fn);
  checkSameShape(input, target, fn);
  return tf.tidy(() => {
    const t = target.dtype === "float32" ? target : tf.cast(target, "float32");
    let loss = bceElementwise(input, t);
    if (weight) loss = tf.mul(loss, weight);
    return reduce(loss, reduction);
  });
}

/**
 * `F.binary_cross_entropy_with_logits`, the stable form PyTorch uses:
 *   loss = (1 - t) x + (1 + (pw - 1) t) (log(1 + exp(-|x|)) + max(-x, 0)).
 * |x| is written max(x, -x): its derivative at 0 (+1) then pairs with relu's (0) so the
 * gradient at x = 0 is exactly sigmoid(0) - t.
 */
export function binaryCrossEntropyWithLogits(
  input: tf.Tensor,
  target: tf.Tensor,
  options: BinaryCrossEntropyWithLogitsOptions = {},
): tf.Tensor {
  const fn = "binaryCrossEntropyWithLogits()";
  const { weight = null, posWeight = null, reduction = "mean" } = options;
  checkReduction(reduction, fn);
  checkSameShape(input, target, fn);
  return tf.tidy(() => {
    const t = target.dtype === "float32" ? target : tf.cast(target, "float32");
    const absX = tf.maximum(input, tf.neg(input));
    const softplusNeg = tf.add(tf.log1p(tf.exp(tf.neg(absX))), tf.relu(tf.neg(input)));
    const logWeight = posWeight ? tf.add(tf.mul(tf.sub(posWeight, 1), t), 1) : null;
    let loss = tf.add(tf.mul(tf.sub(1, t), input), logWeight ? tf.mul(logWeight, softplusNeg) : softplusNeg);
    if (weight) loss = tf.mul(loss, weight);
    return reduce(loss, reduction);
  });
}
