import { describe, it, expect, afterAll } from "vitest";
import { tf, nn, F } from "lightning-ts/torch";
import { checkGrads, expectClose, spread, spreadVar, vals } from "../nn/helpers";

/** PyTorch's pooling_output_shape. */
function outSize(i: number, k: number, s: number, p: number, d: number, ceil: boolean): number {
  let o = Math.floor((i + 2 * p - d * (k - 1) - 1 + (ceil ? s - 1 : 0)) / s) + 1;
  if (ceil && (o - 1) * s >= i + p) o--;
  return o;
}

/**
 * Max / average pooling of [N, C, H, W] written from PyTorch's CPU loops: max over the dilated
 * taps inside the input (first maximum wins, its index collects the gradient of sum(out * r));
 * average divides by the window clipped to [-p, in + p) (countIncludePad) or to the input.
 */
function naivePool(
  x: number[],
  [n, c, h, w]: number[],
  k: [number, number],
  s: [number, number],
  p: [number, number],
  d: [number, number],
  ceil: boolean,
  mode: "max" | "avg",
  countIncludePad = true,
  r?: number[],
) {
  const oh = outSize(h, k[0], s[0], p[0], d[0], ceil);
  const ow = outSize(w, k[1], s[1], p[1], d[1], ceil);
  const out: number[] = [];
  const dx = new Array(x.length).fill(0);
  for (let q = 0; q < n * c; q++)
    for (let y = 0; y < oh; y++)
      for (let z = 0; z < ow; z++) {
        const ri = r ? r[(q * oh + y) * ow + z] : 0;
        if (mode === "max") {
          let best = -Infinity;
          let at = -1;
          for (let i = 0; i < k[0]; i++)
            for (let j = 0; j < k[1]; j++) {
              const iy = y * s[0] - p[0] + i * d[0];
              const ix = z * s[1] - p[1] + j * d[1];
              if (iy < 0 || iy >= h || ix < 0 || ix >= w) continue;
              const v = x[(q * h + iy) * w + ix];
              if (v > best) {
                best = v;
                at = (q * h + iy) * w + ix;
              }
            }
          out.push(best);
          dx[at] += ri;
        } else {
          let h0 = y * s[0] - p[0];
          let w0 = z * s[1] - p[1];
          let h1 = Math.min(h0 + k[0], h + p[0]);
          let w1 = Math.min(w0 + k[1], w + p[1]);
          const poolSize = (h1 - h0) * (w1 - w0);
          h0 = Math.max(h0, 0);
          w0 = Math.max(w0, 0);
          h1 = Math.min(h1, h);
          w1 = Math.min(w1, w);
          const div = countIncludePad ? poolSize : (h1 - h0) * (w1 - w0);
          let sum = 0;
          for (let iy = h0; iy < h1; iy++)
            for (let ix = w0; ix < w1; ix++) {
              sum += x[(q * h + iy) * w + ix];
              dx[(q * h + iy) * w + ix] += ri / div;
            }
          out.push(sum / div);
        }
      }
  return { out, shape: [n, c, oh, ow], dx };
}

describe("pooling output sizes with ceilMode (PyTorch's rule)", () => {
  it("5 x 5, kernel 2, stride 2: floor 2, ceil 3; the last window must start inside input or left padding", () => {
    expect(F.maxPool2d(spread([1, 1, 5, 5]), 2, { ceilMode: true }).shape).toEqual([1, 1, 3, 3]);
    expect(F.maxPool2d(spread([1, 1, 5, 5]), 2).shape).toEqual([1, 1, 2, 2]);
    // 5 + 2*1 padding, k 2, s 2: ceil gives 4, but window 4 would start at 6 - 1 = 5 >= 5 + 1 - 1.
    expect(outSize(5, 2, 2, 1, 1, true)).toBe(3);
    expect(F.avgPool2d(spread([1, 1, 5, 5]), 2, { padding: 1, ceilMode: true }).shape).toEqual([1, 1, 3, 3]);
  });

  it("avgPool2d ceilMode divides the clipped last window by its real size: [1..5] -> [1.5, 3.5, 5]", () => {
    const x = tf.tensor([1, 2, 3, 4, 5], [1, 1, 1, 5]);
    expectClose(F.avgPool2d(x, [1, 2], { ceilMode: true }), [1.5, 3.5, 5], 1e-6, [1, 1, 1, 3]);
  });
});

const cases: Array<{
  name: string;
  k: [number, number];
  s: [number, number];
  p: [number, number];
  d: [number, number];
  ceil: boolean;
}> = [
  { name: "ceil, k3 s2 p1", k: [3, 3], s: [2, 2], p: [1, 1], d: [1, 1], ceil: true },
  { name: "ceil, non-square", k: [2, 3], s: [2, 2], p: [0, 1], d: [1, 1], ceil: true },
  { name: "dilation 2", k: [3, 3], s: [1, 1], p: [1, 1], d: [2, 2], ceil: false },
  { name: "dilation + stride + ceil", k: [2, 3], s: [2, 3], p: [1, 1], d: [2, 1], ceil: true },
];

describe.each(["wasm", "cpu"])("maxPool2d / avgPool2d with ceilMode and dilation on %s", (backend) => {
  const previous = tf.getBackend();
  afterAll(async () => {
    await tf.setBackend(previous);
  });
  const xs = [2, 2, 7, 8];

  it.each(cases)("maxPool2d $name: forward and gradient", async ({ k, s, p, d, ceil }) => {
    await tf.setBackend(backend);
    // Negative values too (tfjs WASM's own max-pool gradient mishandles all-negative windows).
    const x = spreadVar(xs, 0.2, 3);
    const opts = { stride: s, padding: p, dilation: d, ceilMode: ceil };
    const r0 = naivePool(vals(x), xs, k, s, p, d, ceil, "max");
    const r = spread(r0.shape, 0.6);
    const ref = naivePool(vals(x), xs, k, s, p, d, ceil, "max", true, vals(r));
    expectClose(F.maxPool2d(x, k, opts), ref.out, 1e-6, ref.shape);
    const [g] = checkGrads(() => tf.sum(tf.mul(F.maxPool2d(x, k, opts), r)), [x]);
    expectClose(g, ref.dx, 1e-5);
  });

  it.each(
    cases.filter((c) => c.d[0] === 1 && c.d[1] === 1).flatMap((c) => [true, false].map((inc) => ({ ...c, inc }))),
  )("avgPool2d $name countIncludePad=$inc: forward and gradient", async ({ k, s, p, ceil, inc }) => {
    await tf.setBackend(backend);
    const x = spreadVar(xs, 0.2, 3);
    const opts = { stride: s, padding: p, ceilMode: ceil, countIncludePad: inc };
    const r0 = naivePool(vals(x), xs, k, s, p, [1, 1], ceil, "avg", inc);
    const r = spread(r0.shape, 0.6);
    const ref = naivePool(vals(x), xs, k, s, p, [1, 1], ceil, "avg", inc, vals(r));
    expectClose(F.avgPool2d(x, k, opts), ref.out, 1e-5, ref.shape);
    const [g] = checkGrads(() => tf.sum(tf.mul(F.avgPool2d(x, k, opts), r)), [x]);
    expectClose(g, ref.dx, 1e-5);
  });
});

describe("nn.MaxPool2d / nn.AvgPool2d options", () => {
  it("pass ceilMode and dilation through, with PyTorch's repr", () => {
    const mp = new nn.MaxPool2d(3, { stride: 2, dilation: 2, ceilMode: true });
    expect(mp.toString()).toBe("MaxPool2d(kernel_size=3, stride=2, padding=0, dilation=2, ceil_mode=True)");
    const x = spread([1, 2, 9, 9]);
    expectClose(mp.forward(x), vals(F.maxPool2d(x, 3, { stride: 2, dilation: 2, ceilMode: true })), 0, [1, 2, 3, 3]);
    const ap = new nn.AvgPool2d(2, { ceilMode: true });
    expect(ap.forward(x).shape).toEqual([1, 2, 5, 5]);
    expect(() => F.maxPool2d(spread([1, 1, 4, 4]), 3, { dilation: 2 })).toThrow(/smaller than the kernel/);
  });
});
