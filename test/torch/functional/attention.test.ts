import { describe, it, expect } from "vitest";
import { tf, F } from "lightning-ts/torch";
import { checkGrads, expectClose, spread, spreadVar, vals } from "../nn/helpers";
import { softmaxRow } from "../nn/attention_reference";

/** softmax(q kᵀ / sqrt(E) + mask) v for flat [B, L, E] / [B, S, E] / [B, S, Ev], in float64. */
function naiveSdpa(
  q: number[],
  k: number[],
  v: number[],
  [b, l, s, e, ev]: number[],
  mask: (b: number, i: number, j: number) => number = () => 0,
): number[] {
  const out: number[] = [];
  for (let n = 0; n < b; n++)
    for (let i = 0; i < l; i++) {
      const scores: number[] = [];
      for (let j = 0; j < s; j++) {
        let dot = 0;
        for (let d = 0; d < e; d++) dot += q[(n * l + i) * e + d] * k[(n * s + j) * e + d];
        scores.push(dot / Math.sqrt(e) + mask(n, i, j));
      }
      const w = softmaxRow(scores);
      for (let d = 0; d < ev; d++) {
        let acc = 0;
        for (let j = 0; j < s; j++) acc += w[j] * v[(n * s + j) * ev + d];
        out.push(acc);
      }
    }
  return out;
}

describe("F.scaledDotProductAttention", () => {
  it("a hand-computed case: one query, two keys", () => {
    // scores = [1/√2, 0]; w0 = 1 / (1 + e^(-1/√2)); out = w0 [1, 2] + (1 - w0) [3, 4].
    const w0 = 1 / (1 + Math.exp(-1 / Math.SQRT2));
    const out = F.scaledDotProductAttention(
      tf.tensor2d([[1, 0]]),
      tf.tensor2d([
        [1, 0],
        [0, 1],
      ]),
      tf.tensor2d([
        [1, 2],
        [3, 4],
      ]),
    );
    expectClose(out, [w0 + 3 * (1 - w0), 2 * w0 + 4 * (1 - w0)], 1e-6, [1, 2]);
  });

  it("batched [B, H, L, E] with a float mask, a boolean mask (true = attend) and isCausal", () => {
    const [b, h, l, s, e, ev] = [2, 3, 4, 5, 6, 3];
    const q = spread([b, h, l, e], 0.1);
    const k = spread([b, h, s, e], 0.2);
    const v = spread([b, h, s, ev], 0.3);
    const dims = [b * h, l, s, e, ev];
    expectClose(F.scaledDotProductAttention(q, k, v), naiveSdpa(vals(q), vals(k), vals(v), dims), 1e-5, [b, h, l, ev]);

    const fm = spread([l, s], 0.4, 3);
    const fmv = vals(fm);
    expectClose(
      F.scaledDotProductAttention(q, k, v, { attnMask: fm }),
      naiveSdpa(vals(q), vals(k), vals(v), dims, (_n, i, j) => fmv[i * s + j]),
      1e-5,
    );

    const keep = (i: number, j: number) => (i + 2 * j) % 3 !== 0;
    const bm = tf.tensor2d(
      Array.from({ length: l }, (_, i) => Array.from({ length: s }, (_, j) => keep(i, j))),
      [l, s],
      "bool",
    );
    expectClose(
      F.scaledDotProductAttention(q, k, v, { attnMask: bm }),
      naiveSdpa(vals(q), vals(k), vals(v), dims, (_n, i, j) => (keep(i, j) ? 0 : -Infinity)),
      1e-5,
    );

    expectClose(
      F.scaledDotProductAttention(q, k, v, { isCausal: true }),
      naiveSdpa(vals(q), vals(k), vals(v), dims, (_n, i, j) => (j <= i ? 0 : -Infinity)),
      1e-5,
    );
    expect(() => F.scaledDotProductAttention(q, k, v, { isCausal: true, attnMask: bm })).toThrow(/not both/);
    expect(() => F.scaledDotProductAttention(q, v, v)).toThrow(/expected query/);
  });

  it("dropoutP = 1 drops every weight (applied regardless of training, as in PyTorch)", () => {
    const q = spread([2, 3, 4]);
    expectClose(F.scaledDotProductAttention(q, q, q, { dropoutP: 1 }), new Array(24).fill(0), 0, [2, 3, 4]);
  });

  it("gradients in q, k, v equal tf.variableGrads", () => {
    const q = spreadVar([2, 3, 4], 0.5);
    const k = spreadVar([2, 5, 4], 0.6);
    const v = spreadVar([2, 5, 2], 0.7);
    const r = spread([2, 3, 2], 0.8);
    const m = spread([3, 5], 0.9);
    checkGrads(() => tf.sum(tf.mul(F.scaledDotProductAttention(q, k, v, { attnMask: m }), r)), [q, k, v]);
    checkGrads(() => tf.sum(tf.mul(F.scaledDotProductAttention(q, k, v, { isCausal: true }), r)), [q, k, v]);
  });
});
