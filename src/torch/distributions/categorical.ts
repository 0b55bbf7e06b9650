import { tf } from "../tf.ts";
import { noGrad } from "../autograd/grad_mode.ts";
import { multinomial } from "../multinomial.ts";

/** float32 machine epsilon and lowest value (`torch.finfo(torch.float32)`). */
const F32_EPS = 1.1920928955078125e-7;
const F32_MIN = -3.4028234663852886e38;

export type CategoricalParams = { probs: tf.Tensor; logits?: undefined } | { logits: tf.Tensor; probs?: undefined };

/**
 * `distributions.Categorical({ probs })` or `({ logits })`: a distribution over category
 * indices 0..K-1 for each row of a [..., K] parameter (batch shape [...]). As in PyTorch, probs
 * are normalised to sum to 1 along the last dimension, logits to log-probabilities
 * (`logits - logsumexp(logits)`), and the other form derived from them (probs → logits through
 * `log(clamp(probs, eps, 1 - eps))`). `logProb` and `entropy` are differentiable in the
 * parameter (policy-gradient losses); `sample` is not.
 */
export class Categorical {
  readonly probs: tf.Tensor;
  readonly logits: tf.Tensor;
  readonly batchShape: number[];
  readonly eventShape: number[] = [];
  /** Number of categories K. */
  readonly numEvents: number;

  constructor(params: CategoricalParams) {
    const given = params?.probs ?? params?.logits;
    if ((params?.probs == null) === (params?.logits == null)) {
      throw new Error("Categorical: either `probs` or `logits` must be specified, but not both.");
    }
    if (!(given instanceof tf.Tensor) || given.rank < 1) {
      throw new Error("Categorical: `probs` / `logits` must be a tensor with at least one dimension");
    }
    const x = given.dtype === "float32" ? given : tf.cast(given, "float32");
    if (params.probs != null) {
      this.probs = tf.div(x, tf.sum(x, -1, true));
      this.logits = tf.log(tf.clipByValue(this.probs, F32_EPS, 1 - F32_EPS));
    } else {
      this.logits = tf.sub(x, tf.logSumExp(x, -1, true));
      this.probs = tf.softmax(this.logits, -1);
    }
    this.batchShape = given.shape.slice(0, -1);
    this.numEvents = given.shape[given.rank - 1];
  }

  get paramShape(): number[] {
    return [...this.batchShape, this.numEvents];
  }

  /** The most likely category (argmax of probs), shape batchShape. */
  get mode(): tf.Tensor {
    return tf.argMax(this.probs, -1);
  }

  /** Indices of shape [...sampleShape, ...batchShape], int32 (PyTorch: int64). */
  sample(sampleShape: number[] = []): tf.Tensor {
    const numSamples = sampleShape.reduce((a, b) => a * b, 1);
    return noGrad(() =>
      tf.tidy(() => {
        const probs2d = tf.reshape(this.probs, [-1, this.numEvents]);
        const drawn = multinomial(probs2d, numSamples, { replacement: true }); // [B, S]
        return tf.reshape(tf.transpose(drawn), [...sampleShape, ...this.batchShape]);
      }),
    );
  }

  /** log P(value) for integer `value` broadcastable with batchShape. */
  logProb(value: tf.Tensor | number): tf.Tensor {
    const v = typeof value === "number" ? tf.scalar(value, "int32") : value;
    const k = this.numEvents;
    const vals = v.dataSync();
    for (const x of vals) {
      if (!Number.isInteger(x) || x < 0 || x >= k) {
        throw new Error(`Categorical.logProb(): the value ${x} is not in the support: integers 0..${k - 1}`);
      }
    }
    return tf.tidy(() => {
      const shape = broadcastShape([...v.shape, 1], this.logits.shape);
      const pick = noGrad(() => tf.broadcastTo(tf.cast(tf.oneHot(tf.cast(v, "int32"), k), "bool"), shape));
      const logits = tf.broadcastTo(this.logits, shape);
      // where, not a product with the one-hot: a -inf logit elsewhere must not give NaN.
      return tf.sum(tf.where(pick, logits, tf.zeros(shape)), -1);
    });
  }

  /** `-Σ p log p` over the categories, shape batchShape. */
  entropy(): tf.Tensor {
    return tf.tidy(() => tf.neg(tf.sum(tf.mul(tf.maximum(this.logits, F32_MIN), this.probs), -1)));
  }
}

function broadcastShape(a: readonly number[], b: readonly number[]): number[] {
  const n = Math.max(a.length, b.length);
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const x = a[a.length - n + i] ?? 1;
    const y = b[b.length - n + i] ?? 1;
    if (x !== y && x !== 1 && y !== 1)
      throw new Error(
        `Categorical.logProb(): value of shape [${a.slice(0, -1)}] does not broadcast with the batch shape`,
      );
    out.push(Math.max(x, y));
  }
  return out;
}
