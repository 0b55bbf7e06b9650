import { describe, it, expect } from "vitest";
import { tf, F } from "lightning-ts/torch";
import { checkGrads, expectClose, spread, spreadVar, vals } from "../nn/helpers";

describe("F.cosineSimilarity", () => {
  it("x1 . x2 / (max(||x1||, eps) max(||x2||, eps)) along dim 1 by default", () => {
    const a = tf.tensor([
      [1, 0, 0],
      [3, 4, 0],
      [0, 0, 0],
    ]);
    const b = tf.tensor([
      [0, 1, 0],
      [6, 8, 0],
      [1, 2, 2],
    ]);
    // orthogonal, parallel, zero vector (norm clamped at eps: 0 / (eps * 3) = 0).
    expectClose(F.cosineSimilarity(a, b), [0, 1, 0], 1e-6, [3]);
    // columns: (1,3,0).(0,6,1) = 18, (0,4,0).(1,8,2) = 32, zero column.
    expectClose(F.cosineSimilarity(a, b, { dim: 0 }), [18 / Math.sqrt(10 * 37), 32 / (4 * Math.sqrt(69)), 0], 1e-6);
  });

  it("broadcasts, and its gradient equals tf.variableGrads", () => {
    const x1 = spreadVar([4, 5, 3]);
    const x2 = spreadVar([5, 3], 1.1);
    const y = F.cosineSimilarity(x1, x2, { dim: -1 });
    expect(y.shape).toEqual([4, 5]);
    const a = vals(x1);
    const b = vals(x2);
    const expected: number[] = [];
    for (let i = 0; i < 4; i++)
      for (let j = 0; j < 5; j++) {
        let dot = 0;
        let na = 0;
        let nb = 0;
        for (let k = 0; k < 3; k++) {
          dot += a[(i * 5 + j) * 3 + k] * b[j * 3 + k];
          na += a[(i * 5 + j) * 3 + k] ** 2;
          nb += b[j * 3 + k] ** 2;
        }
        expected.push(dot / (Math.max(Math.sqrt(na), 1e-8) * Math.max(Math.sqrt(nb), 1e-8)));
      }
    expectClose(y, expected, 1e-5);
    checkGrads(() => tf.sum(tf.mul(F.cosineSimilarity(x1, x2, { dim: 2 }), spread([4, 5], 0.3))), [x1, x2]);
  });
});

describe("F.pairwiseDistance", () => {
  it("||x1 - x2 + eps||_p over the last dim (eps added to the difference, as PyTorch)", () => {
    const a = tf.tensor([
      [0, 0],
      [1, 2],
    ]);
    const b = tf.tensor([
      [3, 4],
      [1, 2],
    ]);
    const e = 1e-6;
    expectClose(F.pairwiseDistance(a, b), [Math.hypot(-3 + e, -4 + e), Math.hypot(e, e)], 1e-6, [2]);
    expectClose(F.pairwiseDistance(a, b, { p: 1 }), [7 - 2 * e, 2 * e], 1e-6);
    expectClose(F.pairwiseDistance(a, b, { p: Infinity, keepdim: true }), [4 - e, e], 1e-6, [2, 1]);
    expectClose(F.pairwiseDistance(a, b, { p: 3, eps: 0 }), [Math.cbrt(27 + 64), 0], 1e-6);
  });

  it("gradients equal tf.variableGrads for p = 2, 1, 3", () => {
    const x1 = spreadVar([3, 4]);
    const x2 = spreadVar([3, 4], 0.8);
    for (const p of [2, 1, 3]) checkGrads(() => tf.sum(F.pairwiseDistance(x1, x2, { p })), [x1, x2]);
  });
});
