import { describe, it, expect } from "vitest";
import { tf, multinomial, manualSeed, Generator } from "lightning-ts/torch";

function draws(t: tf.Tensor): number[] {
  return Array.from(t.dataSync());
}

/** Pearson's χ² of observed counts against expected probabilities. */
function chiSquare(counts: number[], probs: number[]): number {
  const total = counts.reduce((a, b) => a + b, 0);
  return counts.reduce((acc, c, i) => acc + (c - total * probs[i]) ** 2 / (total * probs[i]), 0);
}

function countsOf(xs: number[], k: number): number[] {
  const c = new Array(k).fill(0);
  for (const x of xs) c[x]++;
  return c;
}

// χ² quantiles at 0.999: df 3 → 16.27, df 4 → 18.47.
describe("multinomial", () => {
  it("is reproducible under manualSeed and draws from the ops stream", () => {
    const w = tf.tensor1d([1, 2, 3, 4]);
    manualSeed(0);
    const a = draws(multinomial(w, 50, { replacement: true }));
    const a2 = draws(multinomial(w, 4));
    manualSeed(0);
    expect(draws(multinomial(w, 50, { replacement: true }))).toEqual(a);
    expect(draws(multinomial(w, 4))).toEqual(a2);
    expect(draws(multinomial(w, 50, { replacement: true }))).not.toEqual(a);
    // An explicit generator: its own sequence, the ops stream untouched.
    manualSeed(0);
    const g = draws(multinomial(w, 50, { replacement: true, generator: new Generator(7) }));
    expect(draws(multinomial(w, 50, { replacement: true, generator: new Generator(7) }))).toEqual(g);
    expect(draws(multinomial(w, 50, { replacement: true }))).toEqual(a);
  });

  it("with replacement: frequencies ∝ the weights (χ² test), zero weights never drawn", () => {
    manualSeed(1);
    const out = multinomial(tf.tensor1d([1, 0, 2, 3, 4]), 20000, { replacement: true });
    expect(out.dtype).toBe("int32");
    expect(out.shape).toEqual([20000]);
    const c = countsOf(draws(out), 5);
    expect(c[1]).toBe(0);
    expect(chiSquare([c[0], c[2], c[3], c[4]], [0.1, 0.2, 0.3, 0.4])).toBeLessThan(16.27);
  });

  it("without replacement: distinct draws per row, first and second draws with the sequential law", () => {
    manualSeed(2);
    const p = [0.1, 0.2, 0.3, 0.4];
    const rows = 5000;
    const out = multinomial(tf.tensor2d(Array.from({ length: rows }, () => p.map((x) => x * 10))), 4);
    expect(out.shape).toEqual([rows, 4]);
    const d = draws(out);
    const first: number[] = [];
    const second: number[] = [];
    for (let r = 0; r < rows; r++) {
      const row = d.slice(r * 4, r * 4 + 4);
      expect([...row].sort()).toEqual([0, 1, 2, 3]);
      first.push(row[0]);
      second.push(row[1]);
    }
    expect(chiSquare(countsOf(first, 4), p)).toBeLessThan(16.27);
    // P(second = j) = Σ_{i≠j} p_i p_j / (1 - p_i).
    const p2 = p.map((pj, j) => p.reduce((acc, pi, i) => (i === j ? acc : acc + (pi * pj) / (1 - pi)), 0));
    expect(chiSquare(countsOf(second, 4), p2)).toBeLessThan(16.27);
  });

  it("rejects what PyTorch rejects", () => {
    expect(() => multinomial(tf.tensor1d([1, 0, 0]), 2)).toThrow(/not enough non-negative category/);
    expect(() => multinomial(tf.tensor1d([1, 1]), 3)).toThrow(/n_sample > prob_dist.size/);
    expect(() => multinomial(tf.tensor1d([1, -1]), 1)).toThrow(/element < 0/);
    expect(() => multinomial(tf.tensor1d([1, NaN]), 1)).toThrow(/nan/);
    expect(() => multinomial(tf.tensor1d([0, 0]), 1, { replacement: true })).toThrow(/sum of probabilities <= 0/);
    expect(() => multinomial(tf.zeros([2, 2, 2]), 1)).toThrow(/1 or 2 dim/);
    expect(draws(multinomial(tf.tensor1d([0, 0, 5]), 3, { replacement: true }))).toEqual([2, 2, 2]);
  });
});
