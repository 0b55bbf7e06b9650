import { describe, it, expect, beforeAll } from "vitest";
import { MisconfigurationError } from "lightning-ts";
import { tf, nn, optim } from "lightning-ts/torch";
import { usePureJsCpu, TestLite } from "../helpers";

/** Two parameters whose gradients the tests set by hand. */
class Pair extends nn.Module {
  a = tf.variable(tf.zeros([2]));
  b = tf.variable(tf.zeros([1]));
}

function setup(ga: number[], gb: number[], onlyA = false) {
  const lite = new TestLite();
  const pair = new Pair();
  const opt = new optim.SGD(onlyA ? [pair.a] : pair.parameters(), { lr: 1 });
  const [model, optimizer] = lite.setup(pair, opt);
  pair.a.grad = tf.tensor1d(ga);
  pair.b.grad = tf.tensor1d(gb);
  return { lite, model, optimizer, pair };
}

const values = (t: tf.Tensor | null) => Array.from(t!.dataSync());

describe("LightningLite.clipGradients", () => {
  beforeAll(usePureJsCpu);

  it("maxNorm: scales all gradients by maxNorm / (total 2-norm + 1e-6) and returns the norm", () => {
    const { lite, model, optimizer, pair } = setup([3, 4], [12]);
    // total = sqrt(3² + 4² + 12²) = 13; coefficient = 6.5 / (13 + 1e-6)
    const norm = lite.clipGradients(model, optimizer, { maxNorm: 6.5 });
    expect(norm).toBeCloseTo(13, 5);
    const coef = 6.5 / (13 + 1e-6);
    expect(values(pair.a.grad)).toEqual([3, 4].map((g) => Math.fround(g * Math.fround(coef))));
    expect(values(pair.b.grad)).toEqual([Math.fround(12 * Math.fround(coef))]);
  });

  it("maxNorm above the norm leaves the gradients untouched", () => {
    const { lite, model, optimizer, pair } = setup([3, 4], [12]);
    expect(lite.clipGradients(model, optimizer, { maxNorm: 100 })).toBeCloseTo(13, 5);
    expect(values(pair.a.grad)).toEqual([3, 4]);
    expect(values(pair.b.grad)).toEqual([12]);
  });

  it("normType: the infinity norm is the largest |g|", () => {
    const { lite, model, optimizer, pair } = setup([3, -4], [12]);
    expect(lite.clipGradients(model, optimizer, { maxNorm: 6, normType: Infinity })).toBe(12);
    const coef = Math.fround(6 / Math.fround(12 + Math.fround(1e-6)));
    expect(values(pair.b.grad)).toEqual([Math.fround(12 * coef)]);
    // 1-norm: |3| + |-4| + |12| = 19
    const one = setup([3, -4], [12]);
    expect(one.lite.clipGradients(one.model, one.optimizer, { maxNorm: 100, normType: 1 })).toBe(19);
  });

  it("only the optimizer's parameters are clipped", () => {
    const { lite, model, optimizer, pair } = setup([3, 4], [12], true);
    expect(lite.clipGradients(model, optimizer, { maxNorm: 2.5 })).toBeCloseTo(5, 5);
    expect(values(pair.a.grad)[0]).toBeCloseTo(1.5, 5);
    expect(values(pair.b.grad)).toEqual([12]);
  });

  it("clipVal: clamps each element into [-clipVal, clipVal] and returns null", () => {
    const { lite, model, optimizer, pair } = setup([-3, 0.5], [12]);
    expect(lite.clipGradients(model, optimizer, { clipVal: 2.5 })).toBeNull();
    expect(values(pair.a.grad)).toEqual([-2.5, 0.5]);
    expect(values(pair.b.grad)).toEqual([2.5]);
  });

  it("non-finite norms are an error by default (Fabric), or clipped through with errorIfNonfinite: false", () => {
    const { lite, model, optimizer } = setup([Infinity, 1], [1]);
    expect(() => lite.clipGradients(model, optimizer, { maxNorm: 1 })).toThrow(/non-finite/);
    const other = setup([NaN, 1], [1]);
    expect(other.lite.clipGradients(other.model, other.optimizer, { maxNorm: 1, errorIfNonfinite: false })).toBeNaN();
  });

  it("exactly one of maxNorm and clipVal", () => {
    const { lite, model, optimizer } = setup([1, 1], [1]);
    expect(() => lite.clipGradients(model, optimizer, { maxNorm: 1, clipVal: 1 })).toThrow(MisconfigurationError);
    expect(() => lite.clipGradients(model, optimizer, { maxNorm: 1, clipVal: 1 })).toThrow("give either maxNorm or clipVal, not both");
    expect(() => lite.clipGradients(model, optimizer, {})).toThrow("give maxNorm (clip the total norm) or clipVal (clip each value)");
    expect(() => lite.clipGradients(model, optimizer, { maxNorm: "1" as never })).toThrow('maxNorm must be a number, got "1"');
  });
});
