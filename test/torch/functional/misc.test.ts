import { describe, it, expect, beforeAll } from "vitest";
import { tf, F, manualSeed, nn } from "lightning-ts/torch";
import { backendWith, checkGrads, expectClose, spread, spreadVar, vals } from "../nn/helpers";

beforeAll(async () => {
  await backendWith(["UnsortedSegmentSum"]);
});

describe("F.dropout", () => {
  const ones = () => tf.ones([200, 100]);

  it("keeps each element with probability 1 - p and scales kept ones by 1 / (1 - p)", () => {
    manualSeed(0);
    const out = vals(F.dropout(ones(), { p: 0.3 }));
    const zeros = out.filter((v) => v === 0).length / out.length;
    expect(Math.abs(zeros - 0.3)).toBeLessThan(0.015); // 4.7 standard deviations
    for (const v of out) if (v !== 0) expect(v).toBeCloseTo(1 / 0.7, 6);
  });

  it("is the identity when not training or p = 0, and all zeros for p = 1", () => {
    const x = spread([4, 5]);
    expectClose(F.dropout(x, { p: 0.5, training: false }), vals(x), 0);
    expectClose(F.dropout(x, { p: 0 }), vals(x), 0);
    expectClose(F.dropout(x, { p: 1 }), new Array(20).fill(0), 0);
    expect(() => F.dropout(x, { p: 1.5 })).toThrow(/dropout probability has to be between 0 and 1, but got 1.5/);
    expect(() => F.dropout(x, { p: -0.1 })).toThrow(/between 0 and 1/);
  });

  it("draws a fresh mask per call; manualSeed replays the sequence whatever the init stream did", () => {
    manualSeed(7);
    const a1 = vals(F.dropout(ones()));
    const a2 = vals(F.dropout(ones()));
    expect(a1).not.toEqual(a2);
    manualSeed(7);
    new nn.Linear(50, 50); // draws 2,550 numbers from the init stream, not the ops stream
    expect(vals(F.dropout(ones()))).toEqual(a1);
    expect(vals(F.dropout(ones()))).toEqual(a2);
    manualSeed(8);
    expect(vals(F.dropout(ones()))).not.toEqual(a1);
  });

  it("backpropagates through the same mask: grad = mask / (1 - p)", () => {
    const x = tf.variable(tf.ones([30, 20]));
    x.grad = null;
    const out = F.dropout(x, { p: 0.4 });
    tf.sum(out).backward();
    // With x = 1 the output is exactly the scaled mask.
    expectClose(x.grad!, vals(out), 1e-6);
  });

  it("dropout2d zeroes whole channels", () => {
    manualSeed(3);
    const out = F.dropout2d(tf.ones([8, 16, 3, 3]), { p: 0.5 });
    const v = vals(out);
    let dropped = 0;
    for (let ch = 0; ch < 8 * 16; ch++) {
      const block = v.slice(ch * 9, ch * 9 + 9);
      expect(new Set(block).size).toBe(1); // all equal within a channel
      if (block[0] === 0) dropped++;
      else expect(block[0]).toBeCloseTo(2, 6);
    }
    expect(dropped).toBeGreaterThan(30);
    expect(dropped).toBeLessThan(98);
  });
});

describe("F.linear", () => {
  it("computes x W^T + b for any leading dims", () => {
    const x = tf.tensor3d([[[1, 2, 3]], [[0, -1, 2]]]); // [2, 1, 3]
    const w = tf.tensor2d([
      [1, 0, -1],
      [2, 1, 0],
    ]); // [out=2, in=3]
    const b = tf.tensor1d([0.5, -1]);
    expectClose(F.linear(x, w, b), [1 - 3 + 0.5, 2 + 2 - 1, -2 + 0.5, -1 - 1], 1e-6, [2, 1, 2]);
    expectClose(F.linear(tf.tensor2d([[1, 2, 3]]), w), [-2, 4], 1e-6, [1, 2]);
    expect(() => F.linear(tf.tensor2d([[1, 2]]), w)).toThrow(/expected input of shape \[\*, 3\], got \[1, 2\]/);
  });

  it("gradients equal tf.variableGrads and the closed form", () => {
    const x = spread([4, 3]);
    const w = spreadVar([2, 3], 1);
    const b = spreadVar([2], 2);
    const [gw, gb] = checkGrads(() => tf.sum(F.linear(x, w, b)), [w, b]);
    // d sum / dW[o, i] = sum_n x[n, i]; d sum / db = N.
    const xs = vals(x);
    const colSums = [0, 1, 2].map((i) => xs[i] + xs[3 + i] + xs[6 + i] + xs[9 + i]);
    expectClose(gw, [...colSums, ...colSums], 1e-5);
    expectClose(gb, [4, 4]);
  });
});

describe("F.batchNorm / F.layerNorm", () => {
  const data = [1, 2, 3, 4, 5, 6, 7, 8, 10, 12, 0, -2]; // [N=4, C=3]
  const X = () => tf.tensor2d(data, [4, 3]);
  const col = (c: number) => [0, 1, 2, 3].map((n) => data[n * 3 + c]);
  const meanOf = (a: number[]) => a.reduce((s, v) => s + v, 0) / a.length;
  const varOf = (a: number[], unbiased = false) => {
    const m = meanOf(a);
    return a.reduce((s, v) => s + (v - m) ** 2, 0) / (a.length - (unbiased ? 1 : 0));
  };

  it("training: normalises with batch statistics and updates running stats (unbiased variance)", () => {
    const rm = tf.variable(tf.tensor1d([0.5, 0, -1]), false);
    const rv = tf.variable(tf.tensor1d([1, 2, 3]), false);
    const w = tf.tensor1d([1, 2, 0.5]);
    const b = tf.tensor1d([0, 1, -1]);
    const out = F.batchNorm(X(), rm, rv, { weight: w, bias: b, training: true, momentum: 0.2, eps: 1e-5 });
    const expected: number[] = [];
    for (let n = 0; n < 4; n++)
      for (let c = 0; c < 3; c++) {
        const a = col(c);
        expected.push(((data[n * 3 + c] - meanOf(a)) / Math.sqrt(varOf(a) + 1e-5)) * [1, 2, 0.5][c] + [0, 1, -1][c]);
      }
    expectClose(out, expected, 1e-5);
    expectClose(
      rm,
      [0, 1, 2].map((c) => 0.8 * [0.5, 0, -1][c] + 0.2 * meanOf(col(c))),
      1e-6,
    );
    expectClose(
      rv,
      [0, 1, 2].map((c) => 0.8 * [1, 2, 3][c] + 0.2 * varOf(col(c), true)),
      1e-6,
    );
  });

  it("eval: uses the running statistics and leaves them alone", () => {
    const rm = tf.variable(tf.tensor1d([1, 2, 3]), false);
    const rv = tf.variable(tf.tensor1d([4, 1, 0.25]), false);
    const out = F.batchNorm(X(), rm, rv, { eps: 0 });
    expectClose(
      out,
      data.map((v, i) => (v - [1, 2, 3][i % 3]) / Math.sqrt([4, 1, 0.25][i % 3])),
      1e-6,
    );
    expectClose(rm, [1, 2, 3], 0);
  });

  it("[N, C, L] input normalises over N and L", () => {
    const x = spread([2, 3, 4], 0.5, 3);
    const xs = vals(x);
    const out = vals(F.batchNorm(x, null, null, { training: true }));
    for (let c = 0; c < 3; c++) {
      const idx = [0, 1].flatMap((n) => [0, 1, 2, 3].map((l) => (n * 3 + c) * 4 + l));
      const m = meanOf(idx.map((i) => xs[i]));
      const v = varOf(idx.map((i) => xs[i]));
      for (const i of idx) expect(out[i]).toBeCloseTo((xs[i] - m) / Math.sqrt(v + 1e-5), 5);
    }
    expect(() => F.batchNorm(tf.ones([1, 3]), null, null, { training: true })).toThrow(
      /expected more than 1 value per channel when training/,
    );
  });

  it("layerNorm normalises each sample over the trailing dims, with affine", () => {
    const x = spread([2, 3, 4], 0.1, 2);
    const xs = vals(x);
    const w = spread([3, 4], 1);
    const b = spread([3, 4], 2);
    const ws = vals(w);
    const bs = vals(b);
    const out = vals(F.layerNorm(x, [3, 4], { weight: w, bias: b, eps: 1e-5 }));
    for (let n = 0; n < 2; n++) {
      const seg = xs.slice(n * 12, n * 12 + 12);
      const m = meanOf(seg);
      const v = varOf(seg);
      seg.forEach((val, k) =>
        expect(out[n * 12 + k]).toBeCloseTo(((val - m) / Math.sqrt(v + 1e-5)) * ws[k] + bs[k], 5),
      );
    }
    expect(() => F.layerNorm(x, [4, 3])).toThrow(/expected input of shape \[\*, 4, 3\], got \[2, 3, 4\]/);
  });

  it("gradients equal tf.variableGrads", () => {
    const x = spreadVar([4, 3, 2], 0, 2);
    const w = spreadVar([3], 1);
    const b = spreadVar([3], 2);
    const r = spread([4, 3, 2], 4);
    checkGrads(() => tf.sum(tf.mul(F.batchNorm(x, null, null, { weight: w, bias: b, training: true }), r)), [x, w, b]);
    const lw = spreadVar([3, 2], 3);
    checkGrads(() => tf.sum(tf.mul(F.layerNorm(x, [3, 2], { weight: lw }), r)), [x, lw]);
  });
});

describe("F.embedding", () => {
  const table = () =>
    tf.tensor2d([
      [0, 1],
      [2, 3],
      [4, 5],
      [6, 7],
    ]);

  it("gathers rows for ids of any shape", () => {
    const ids = tf.tensor2d(
      [
        [1, 3, 3],
        [0, 2, 1],
      ],
      [2, 3],
      "int32",
    );
    expectClose(F.embedding(ids, table()), [2, 3, 6, 7, 6, 7, 0, 1, 4, 5, 2, 3], 0, [2, 3, 2]);
    expect(() => F.embedding(tf.tensor1d([1.5]), table())).toThrow(/indices must be an int32 tensor/);
    expect(() => F.embedding(tf.tensor1d([4], "int32"), table())).toThrow(/index 4 is out of range for 4 embeddings/);
  });

  it("scatter-adds the gradient into the rows; the padding row gets none", () => {
    const w = tf.variable(table());
    const ids = tf.tensor1d([1, 3, 3, 0, 1, 1], "int32");
    const r = spread([6, 2], 1);
    const rs = vals(r);
    const [g] = checkGrads(() => tf.sum(tf.mul(F.embedding(ids, w), r)), [w]);
    const expected = new Array(8).fill(0);
    [1, 3, 3, 0, 1, 1].forEach((id, i) => {
      expected[id * 2] += rs[i * 2];
      expected[id * 2 + 1] += rs[i * 2 + 1];
    });
    expectClose(g, expected, 1e-5);
    const [gp] = checkGrads(() => tf.sum(tf.mul(F.embedding(ids, w, { paddingIdx: 1 }), r)), [w]);
    expectClose(
      gp,
      expected.map((v, i) => (i === 2 || i === 3 ? 0 : v)),
      1e-5,
    );
    // The forward still returns the stored padding row.
    expectClose(F.embedding(tf.tensor1d([1], "int32"), w, { paddingIdx: 1 }), [2, 3]);
  });
});

describe("F.flatten / unflatten / oneHot / pad", () => {
  it("flatten merges startDim..endDim (torch.flatten defaults: 0, -1)", () => {
    const x = tf.zeros([2, 3, 4, 5]);
    expect(F.flatten(x).shape).toEqual([120]);
    expect(F.flatten(x, 1).shape).toEqual([2, 60]);
    expect(F.flatten(x, 1, 2).shape).toEqual([2, 12, 5]);
    expect(F.flatten(x, -2).shape).toEqual([2, 3, 20]);
    expect(F.unflatten(tf.zeros([2, 12]), 1, [3, -1]).shape).toEqual([2, 3, 4]);
    expect(() => F.flatten(x, 3, 1)).toThrow(/startDim \(3\) cannot come after endDim \(1\)/);
  });

  it("oneHot gives int32 vectors and infers the class count", () => {
    const oh = F.oneHot(tf.tensor1d([0, 2, 1], "int32"));
    expect(oh.dtype).toBe("int32");
    expectClose(oh, [1, 0, 0, 0, 0, 1, 0, 1, 0], 0, [3, 3]);
    expect(F.oneHot(tf.tensor2d([[1], [0]], [2, 1], "int32"), 4).shape).toEqual([2, 1, 4]);
    expect(() => F.oneHot(tf.tensor1d([3], "int32"), 3)).toThrow(/smaller than numClasses \(3\)/);
  });

  it("pad lists pairs from the last dim, with constant, reflect, replicate and circular modes", () => {
    const x = tf.tensor2d([
      [1, 2, 3],
      [4, 5, 6],
    ]);
    expectClose(F.pad(x, [1, 2]), [0, 1, 2, 3, 0, 0, 0, 4, 5, 6, 0, 0], 0, [2, 6]);
    expectClose(F.pad(x, [0, 0, 1, 0], { value: 9 }), [9, 9, 9, 1, 2, 3, 4, 5, 6], 0, [3, 3]);
    expectClose(F.pad(x, [2, 1], { mode: "reflect" }), [3, 2, 1, 2, 3, 2, 6, 5, 4, 5, 6, 5], 0, [2, 6]);
    expectClose(F.pad(x, [1, 2], { mode: "replicate" }), [1, 1, 2, 3, 3, 3, 4, 4, 5, 6, 6, 6], 0, [2, 6]);
    expectClose(F.pad(x, [1, 2], { mode: "circular" }), [3, 1, 2, 3, 1, 2, 6, 4, 5, 6, 4, 5], 0, [2, 6]);
    expectClose(F.pad(x, [0, 0, 1, 1], { mode: "replicate" }), [1, 2, 3, 1, 2, 3, 4, 5, 6, 4, 5, 6], 0, [4, 3]);
    expect(() => F.pad(x, [3, 0], { mode: "reflect" })).toThrow(/must be smaller than dimension 1 of size 3/);
    const v = tf.variable(x);
    for (const mode of ["constant", "reflect", "replicate", "circular"] as const) {
      checkGrads(() => tf.sum(tf.mul(F.pad(v, [1, 1, 1, 0], { mode }), spread([3, 5]))), [v]);
    }
  });
});
