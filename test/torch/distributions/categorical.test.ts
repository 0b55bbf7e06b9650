import { describe, it, expect } from "vitest";
import { tf, distributions, manualSeed } from "lightning-ts/torch";
import { checkGrads, expectClose, spreadVar, vals } from "../nn/helpers";

const { Categorical } = distributions;

describe("distributions.Categorical", () => {
  it("probs are normalised, logits = log probs", () => {
    const d = new Categorical({
      probs: tf.tensor2d([
        [1, 3],
        [2, 2],
      ]),
    });
    expectClose(d.probs, [0.25, 0.75, 0.5, 0.5], 1e-7, [2, 2]);
    expectClose(d.logits, [Math.log(0.25), Math.log(0.75), Math.log(0.5), Math.log(0.5)], 1e-6);
    expect(d.batchShape).toEqual([2]);
    expect(d.eventShape).toEqual([]);
    expect(vals(d.mode)).toEqual([1, 0]);
  });

  it("logits are normalised to log-probabilities, probs = softmax", () => {
    const z = [0.5, -1, 2];
    const lse = Math.log(z.reduce((a, b) => a + Math.exp(b), 0));
    const d = new Categorical({ logits: tf.tensor1d(z) });
    expectClose(
      d.logits,
      z.map((x) => x - lse),
      1e-6,
      [3],
    );
    expectClose(
      d.probs,
      z.map((x) => Math.exp(x - lse)),
      1e-6,
    );
    expect(d.batchShape).toEqual([]);
  });

  it("logProb: log p[value], broadcast over the batch", () => {
    const p = [
      [0.2, 0.3, 0.5],
      [0.6, 0.1, 0.3],
    ];
    const d = new Categorical({ probs: tf.tensor2d(p) });
    expectClose(d.logProb(tf.tensor1d([2, 0], "int32")), [Math.log(0.5), Math.log(0.6)], 1e-6, [2]);
    // value [3, 1] against batch [2] → [3, 2]
    expectClose(
      d.logProb(tf.tensor2d([[0], [1], [2]], [3, 1], "int32")),
      [0, 0, 1, 1, 2, 2].map((k, i) => Math.log(p[i % 2][k])),
      1e-6,
      [3, 2],
    );
    expect(() => d.logProb(tf.tensor1d([3, 0], "int32"))).toThrow(/not in the support/);
  });

  it("entropy: -Σ p log p; a -inf logit contributes 0 (no NaN)", () => {
    const p = [0.1, 0.2, 0.7];
    const d = new Categorical({ probs: tf.tensor1d(p) });
    expectClose(d.entropy(), [-p.reduce((a, x) => a + x * Math.log(x), 0)], 1e-6, []);
    const masked = new Categorical({ logits: tf.tensor1d([0, -Infinity, 0]) });
    expectClose(masked.entropy(), [Math.log(2)], 1e-6);
    expectClose(masked.logProb(2), [Math.log(0.5)], 1e-6);
    expect(() => new Categorical({} as never)).toThrow(/either `probs` or `logits`/);
  });

  it("sample: shape sampleShape + batchShape, reproducible, frequencies ∝ probs", () => {
    const d = new Categorical({
      probs: tf.tensor2d([
        [0.5, 0.5, 0],
        [0, 0.2, 0.8],
      ]),
    });
    manualSeed(4);
    const s = d.sample([3000]);
    expect(s.shape).toEqual([3000, 2]);
    expect(s.dtype).toBe("int32");
    const v = vals(s);
    manualSeed(4);
    expect(vals(d.sample([3000]))).toEqual(v);
    const col0 = v.filter((_, i) => i % 2 === 0);
    const col1 = v.filter((_, i) => i % 2 === 1);
    expect(col0.every((x) => x !== 2)).toBe(true);
    expect(col1.every((x) => x !== 0)).toBe(true);
    // Binomial counts: 4 standard deviations.
    const ones = col0.filter((x) => x === 1).length;
    expect(Math.abs(ones - 1500)).toBeLessThan(4 * Math.sqrt(3000 * 0.25));
    const twos = col1.filter((x) => x === 2).length;
    expect(Math.abs(twos - 2400)).toBeLessThan(4 * Math.sqrt(3000 * 0.16));
    expect(d.sample().shape).toEqual([2]);
  });

  it("logProb and entropy backpropagate into the logits like tf.variableGrads", () => {
    const z = spreadVar([2, 4], 0.3, 2);
    const a = tf.tensor1d([3, 1], "int32");
    checkGrads(() => {
      const d = new Categorical({ logits: z });
      return tf.sub(tf.sum(d.logProb(a)), tf.mul(0.1, tf.sum(d.entropy())));
    }, [z]);
    const p = tf.variable(
      tf.tensor2d([
        [0.2, 0.3, 0.5],
        [0.6, 0.1, 0.3],
      ]),
    );
    checkGrads(() => tf.sum(new Categorical({ probs: p }).logProb(tf.tensor1d([2, 0], "int32"))), [p]);
  });
});
