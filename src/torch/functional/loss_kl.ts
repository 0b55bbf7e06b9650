import { tf } from "../tf.ts";
import { checkReduction, mask, warnOnce } from "./_util.ts";

export interface KlDivOptions {
  /** "mean" (PyTorch's default, the mean over all elements), "batchmean" (sum / N: the true KL), "sum", "none". */
  reduction?: "mean" | "batchmean" | "sum" | "none";
  /** The target is given as log-probabilities. */
  logTarget?: boolean;
}

/**
 * `F.kl_div(input, target)` with `input` the log-probabilities of the model. Element-wise
 * `target * (log target - input)`, where 0 * log 0 counts as 0 (PyTorch's xlogy); with
 * `logTarget`, `exp(target) * (target - input)`.
 */
export function klDiv(input: tf.Tensor, target: tf.Tensor, options: KlDivOptions = {}): tf.Tensor {
  const fn = "klDiv()";
  const { reduction = "mean", logTarget = false } = options;
  checkReduction(reduction, fn, ["batchmean"]);
  if (reduction === "mean") {
    warnOnce(
      `${fn}: reduction "mean" divides the total loss by both the batch size and the support size. ` +
        `"batchmean" divides only by the batch size, and aligns with the KL div math definition.`,
    );
  }
  return tf.tidy(() => {
    let loss: tf.Tensor;
    if (logTarget) {
      loss = tf.mul(tf.exp(target), tf.sub(target, input));
    } else {
      // xlogy(t, t): log is taken of 1 where t == 0, so both the value and its gradient are
      // finite there (negative targets still give NaN, as in PyTorch).
      const safe = tf.where(
        mask(() => tf.equal(target, 0)),
        tf.onesLike(target),
        target,
      );
      loss = tf.sub(tf.mul(target, tf.log(safe)), tf.mul(target, input));
    }
    switch (reduction) {
      case "none":
        return loss;
      case "sum":
        return tf.sum(loss);
      case "batchmean":
        return input.rank === 0 ? tf.sum(loss) : tf.div(tf.sum(loss), input.shape[0]);
      default:
        return tf.mean(loss);
    }
  });
}
