import { beforeAll, describe, expect, it } from "vitest";
import { clipGradNorm, clipGradValue } from "../../../src/torch/nn/utils/clip_grad";
import { tf, setupTorch, gradArray, expectClose, values } from "./helpers";

beforeAll(setupTorch);

/** Variables with grads set to `grads` (shapes inferred: 1-D). */
function withGrads(...grads: Array<number[] | null>): tf.Variable[] {
  return grads.map((g) => {
    const v = tf.variable(tf.zeros([g ? g.length : 1]));
    if (g) v.grad = tf.tensor(g);
    return v;
  });
}

const grads = (ps: tf.Variable[]) => ps.map((p) => (p.grad ? values(p.grad) : null));

/** torch.nn.utils.clip_grad_norm_ in float64: norm of the per-tensor norms; coef = max/(total+1e-6) ≤ 1. */
function clipReference(gs: number[][], maxNorm: number, p: number): { total: number; clipped: number[][] } {
  const norm = (xs: number[]) => {
    const a = xs.map(Math.abs);
    if (p === Infinity) return Math.max(...a);
    if (p === 0) return a.filter((x) => x !== 0).length;
    return a.reduce((s, x) => s + x ** p, 0) ** (1 / p);
  };
  const total = norm(gs.map(norm));
  const coef = Math.min(maxNorm / (total + 1e-6), 1);
  return { total, clipped: gs.map((g) => g.map((x) => x * coef)) };
}

describe("clipGradNorm", () => {
  it("2-norm over all parameters: [3, 4] and [12] have total norm 13", () => {
    const ps = withGrads([3, 4], [12]);
    const total = clipGradNorm(ps, 6.5);
    expect(total).toBeCloseTo(13, 5);
    const k = 6.5 / (13 + 1e-6);
    expectClose(values(ps[0].grad!), [3 * k, 4 * k]);
    expectClose(values(ps[1].grad!), [12 * k]);
  });

  it("leaves gradients below maxNorm untouched and still returns the norm", () => {
    const ps = withGrads([3, 4], [12]);
    expect(clipGradNorm(ps, 100)).toBeCloseTo(13, 5);
    expect(grads(ps)).toEqual([[3, 4], [12]]);
  });

  for (const p of [1, 2, 3, 0.5, Infinity, 0]) {
    it(`normType ${p} matches the reference on multi-shape gradients`, () => {
      const raw = [gradArray(1, 12, 0), gradArray(2, 5, 1), gradArray(3, 1, 2).map((x) => x * 4), [0, 0, 1.5]];
      const ps = raw.map((g) => {
        const v = tf.variable(tf.zeros([g.length]));
        v.grad = tf.tensor(g);
        return v;
      });
      const ref = clipReference(raw, 0.75, p);
      const total = clipGradNorm(ps, 0.75, p);
      expect(Math.abs(total - ref.total)).toBeLessThanOrEqual(1e-5 * ref.total);
      expect(ref.total).toBeGreaterThan(0.75); // so clipping really happened
      ps.forEach((v, i) => expectClose(values(v.grad!), ref.clipped[i], 1e-5, 1e-7));
    });
  }

  it('accepts "inf", a single parameter and a generator; ignores null grads; no grads → 0', () => {
    const [a, none] = withGrads([-5, 2], null);
    expect(clipGradNorm(a, 10, "inf")).toBe(5);
    function* gen() {
      yield a;
      yield none;
    }
    expect(clipGradNorm(gen(), 1, 1)).toBe(7);
    expect(none.grad).toBeNull();
    expect(clipGradNorm(withGrads(null, null), 1)).toBe(0);
  });

  it("non-finite norms: an error with errorIfNonfinite, else torch's scaling (coef 0: inf·0 = NaN)", () => {
    const ps = withGrads([Infinity, 1]);
    expect(() => clipGradNorm(ps, 1, 2, { errorIfNonfinite: true })).toThrow(/non-finite, so it cannot be clipped/);
    expect(values(ps[0].grad!)).toEqual([Infinity, 1]);
    expect(clipGradNorm(ps, 1)).toBe(Infinity);
    const g = values(ps[0].grad!);
    expect(Number.isNaN(g[0])).toBe(true);
    expect(g[1]).toBe(0);
  });

  it("replaces the grads without leaking tensors", () => {
    const ps = withGrads([3, 4], [12]);
    const old = ps[0].grad!;
    clipGradNorm(ps, 1);
    expect(old.isDisposed).toBe(true);
    const n = tf.memory().numTensors;
    for (let i = 0; i < 20; i++) {
      clipGradNorm(ps, 0.5);
      clipGradValue(ps, 0.1);
    }
    expect(tf.memory().numTensors).toBe(n);
  });
});

describe("clipGradValue", () => {
  it("clamps each element into [-clipValue, clipValue], skipping null grads", () => {
    const ps = withGrads([-3, -0.5, 0.2, 7], null);
    clipGradValue(ps, 1);
    expect(values(ps[0].grad!)).toEqual([-1, -0.5, expect.closeTo(0.2, 7), 1]);
    expect(ps[1].grad).toBeNull();
    expect(() => clipGradValue(ps, -1)).toThrow("clipValue must be a non-negative number");
  });
});
