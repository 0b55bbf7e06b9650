import { tf } from "../tf.ts";
import { nextOpSeed } from "../random.ts";

export interface DropoutOptions {
  /** Probability of zeroing an element (default 0.5). */
  p?: number;
  /** Dropout is the identity unless training (default true, as in `F.dropout`). */
  training?: boolean;
}

export function checkDropoutP(p: number, fn: string): void {
  if (!(typeof p === "number" && p >= 0 && p <= 1)) {
    throw new Error(`${fn}: dropout probability has to be between 0 and 1, but got ${p}`);
  }
}

/**
 * Inverted dropout, PyTorch semantics: each element is kept with probability `1 - p` and
 * scaled by `1 / (1 - p)`, so evaluation needs no rescaling. The mask comes from a tfjs random
 * op seeded from the ops stream (`nextOpSeed()`): every call draws a fresh mask, and
 * `manualSeed` reproduces the whole sequence without touching the init or data streams.
 * `noiseShape` lets the mask broadcast (channel dropout).
 */
export function dropout(x: tf.Tensor, options: DropoutOptions = {}, noiseShape?: number[]): tf.Tensor {
  const { p = 0.5, training = true } = options;
  checkDropoutP(p, "dropout()");
  if (!training || p === 0) return x;
  if (p === 1) return tf.mul(x, 0); // torch: all zeros, still connected to the graph
  const mask = tf.tidy(() => {
    const u = tf.randomUniform(noiseShape ?? x.shape, 0, 1, "float32", nextOpSeed());
    // P(u >= p) = 1 - p; the scale is folded into the mask so the graph sees one multiply.
    return tf.mul(tf.cast(tf.greaterEqual(u, p), "float32"), 1 / (1 - p));
  });
  const out = tf.mul(x, mask);
  mask.dispose();
  return out;
}

/** Channel dropout for [N, C, H, W] (or [C, H, W]): whole feature maps are zeroed. */
export function dropout2d(x: tf.Tensor, options: DropoutOptions = {}): tf.Tensor {
  if (x.rank !== 4 && x.rank !== 3) {
    throw new Error(`dropout2d(): expected input of shape [N, C, H, W] or [C, H, W], got [${x.shape.join(", ")}]`);
  }
  const s = x.shape as number[];
  const noise = x.rank === 4 ? [s[0], s[1], 1, 1] : [s[0], 1, 1];
  return dropout(x, options, noise);
}
