import { describe, it, expect, beforeAll } from "vitest";
import { tf, F } from "lightning-ts/torch";
import { backendWith, checkGrads, expectClose, spread, vals } from "../nn/helpers";

beforeAll(async () => {
  await backendWith(["MaxPoolGrad", "AvgPoolGrad"]);
});

type Mode = "max" | "avg" | "avgExcl";

/** Naive NCHW pooling with PyTorch semantics (max pads with -inf; avg counts zeros or not). */
function naivePool(
  x: number[],
  [n, c, h, w]: number[],
  k: [number, number],
  s: [number, number],
  p: [number, number],
  mode: Mode,
  divisor?: number,
) {
  const oh = Math.floor((h + 2 * p[0] - k[0]) / s[0]) + 1;
  const ow = Math.floor((w + 2 * p[1] - k[1]) / s[1]) + 1;
  const out: number[] = [];
  for (let ni = 0; ni < n; ni++)
    for (let ci = 0; ci < c; ci++)
      for (let y = 0; y < oh; y++)
        for (let xx = 0; xx < ow; xx++) {
          let best = -Infinity;
          let sum = 0;
          let count = 0;
          for (let i = 0; i < k[0]; i++)
            for (let j = 0; j < k[1]; j++) {
              const iy = y * s[0] - p[0] + i;
              const ix = xx * s[1] - p[1] + j;
              if (iy < 0 || iy >= h || ix < 0 || ix >= w) continue;
              const v = x[((ni * c + ci) * h + iy) * w + ix];
              best = Math.max(best, v);
              sum += v;
              count++;
            }
          if (mode === "max") out.push(best);
          else if (divisor) out.push(sum / divisor);
          else out.push(sum / (mode === "avg" ? k[0] * k[1] : count));
        }
  return { out, shape: [n, c, oh, ow] };
}

const shape = [2, 3, 7, 6];
const X = () => spread(shape, 0.2);

describe("F.maxPool2d / F.avgPool2d against naive pooling", () => {
  const geoms: Array<{ k: [number, number]; s: [number, number]; p: [number, number] }> = [
    { k: [2, 2], s: [2, 2], p: [0, 0] },
    { k: [3, 3], s: [2, 2], p: [1, 1] },
    { k: [3, 2], s: [1, 2], p: [1, 0] },
    { k: [2, 3], s: [2, 1], p: [1, 1] },
    { k: [3, 3], s: [3, 1], p: [0, 1] },
  ];
  for (const g of geoms) {
    const label = `kernel ${g.k} stride ${g.s} padding ${g.p}`;
    it(`maxPool2d ${label}`, () => {
      const ref = naivePool(vals(X()), shape, g.k, g.s, g.p, "max");
      expectClose(F.maxPool2d(X(), g.k, { stride: g.s, padding: g.p }), ref.out, 1e-6, ref.shape);
    });
    it(`avgPool2d ${label}, padding counted (default) and not`, () => {
      const inc = naivePool(vals(X()), shape, g.k, g.s, g.p, "avg");
      expectClose(F.avgPool2d(X(), g.k, { stride: g.s, padding: g.p }), inc.out, 1e-5, inc.shape);
      const exc = naivePool(vals(X()), shape, g.k, g.s, g.p, "avgExcl");
      expectClose(
        F.avgPool2d(X(), g.k, { stride: g.s, padding: g.p, countIncludePad: false }),
        exc.out,
        1e-5,
        exc.shape,
      );
      const div = naivePool(vals(X()), shape, g.k, g.s, g.p, "avg", 5);
      expectClose(F.avgPool2d(X(), g.k, { stride: g.s, padding: g.p, divisorOverride: 5 }), div.out, 1e-5, div.shape);
    });
  }

  it("stride defaults to the kernel size; unbatched input works", () => {
    const ref = naivePool(vals(X()), shape, [3, 3], [3, 3], [0, 0], "max");
    expectClose(F.maxPool2d(X(), 3), ref.out, 1e-6, ref.shape);
    const x3 = spread([3, 7, 6], 0.2);
    expectClose(F.avgPool2d(x3, 2), vals(F.avgPool2d(tf.expandDims(x3, 0), 2)), 1e-6, [3, 3, 3]);
  });

  it("rejects padding above half the kernel, and explains bad input", () => {
    expect(() => F.maxPool2d(X(), 2, { padding: 2 })).toThrow(/pad should be at most half of effective kernel size/);
    expect(() => F.maxPool2d(spread([4, 4]), 2)).toThrow(
      /expected input of shape \[N, C, H, W\] or unbatched \[C, H, W\], got \[4, 4\]/,
    );
  });
});

describe("F.adaptiveAvgPool2d", () => {
  it("uses PyTorch's windows [floor(i H / o), ceil((i + 1) H / o)), even when they overlap", () => {
    const x = vals(X());
    const [n, c, h, w] = shape;
    const oh = 3;
    const ow = 4;
    const ref: number[] = [];
    for (let ni = 0; ni < n; ni++)
      for (let ci = 0; ci < c; ci++)
        for (let i = 0; i < oh; i++)
          for (let j = 0; j < ow; j++) {
            const [h0, h1] = [Math.floor((i * h) / oh), Math.ceil(((i + 1) * h) / oh)];
            const [w0, w1] = [Math.floor((j * w) / ow), Math.ceil(((j + 1) * w) / ow)];
            let s = 0;
            for (let y = h0; y < h1; y++) for (let xx = w0; xx < w1; xx++) s += x[((ni * c + ci) * h + y) * w + xx];
            ref.push(s / ((h1 - h0) * (w1 - w0)));
          }
    expectClose(F.adaptiveAvgPool2d(X(), [3, 4]), ref, 1e-5, [2, 3, 3, 4]);
    // Global average pooling (the ResNet head).
    const gap = F.adaptiveAvgPool2d(X(), 1);
    expect(gap.shape).toEqual([2, 3, 1, 1]);
    expectClose(gap, vals(tf.mean(X(), [2, 3])), 1e-5);
    expect(F.adaptiveAvgPool2d(X(), [null, 3]).shape).toEqual([2, 3, 7, 3]);
  });
});

describe("pooling gradients", () => {
  it("max pooling routes the gradient to each window's maximum", () => {
    const x = tf.variable(tf.tensor4d([1, 5, 2, 0, 3, 4, 9, 8, 7, 6, -1, -2, 0.5, 0.25, 11, 10], [1, 1, 4, 4]));
    const [g] = checkGrads(() => tf.sum(tf.mul(F.maxPool2d(x, 2), tf.tensor4d([1, 2, 3, 4], [1, 1, 2, 2]))), [x]);
    // Window maxima: 5 (idx 1), 9 (idx 6), 7 (idx 8), 11 (idx 14).
    const expected = new Array(16).fill(0);
    expected[1] = 1;
    expected[6] = 2;
    expected[8] = 3;
    expected[14] = 4;
    expectClose(g, expected);
  });

  it("backward equals tf.variableGrads for every pooling flavour", () => {
    const x = tf.variable(X());
    checkGrads(() => tf.sum(tf.square(F.maxPool2d(x, [3, 2], { stride: [1, 2], padding: [1, 0] }))), [x]);
    checkGrads(() => tf.sum(tf.square(F.maxPool2d(x, 3, { stride: 2, padding: 1 }))), [x]);
    checkGrads(() => tf.sum(tf.square(F.avgPool2d(x, 3, { stride: 2, padding: 1 }))), [x]);
    checkGrads(
      () => tf.sum(tf.square(F.avgPool2d(x, [2, 3], { stride: [2, 1], padding: [1, 1], countIncludePad: false }))),
      [x],
    );
    checkGrads(() => tf.sum(tf.square(F.adaptiveAvgPool2d(x, [3, 4]))), [x]);
  });

  it("average pooling spreads each output's gradient evenly over its window", () => {
    const x = tf.variable(tf.zeros([1, 1, 4, 4]));
    const [g] = checkGrads(() => tf.sum(F.avgPool2d(x, 2)), [x]);
    expectClose(g, new Array(16).fill(0.25));
  });
});
