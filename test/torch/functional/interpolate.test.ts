import { describe, it, expect, afterAll } from "vitest";
import { tf, nn, F } from "lightning-ts/torch";
import { checkGrads, expectClose, relErr, spread, spreadVar, vals } from "../nn/helpers";

/**
 * Bilinear resize of [N, C, H, W] straight from PyTorch's documented coordinate rule, in double:
 * alignCorners: src = dst (in - 1) / (out - 1); else src = max(0, (dst + 0.5) / scale - 0.5)
 * with scale = out / in, or the given scaleFactor. Returns out and the gradient of sum(out * r).
 */
function naiveBilinear(
  x: number[],
  [n, c, h, w]: number[],
  [oh, ow]: number[],
  align: boolean,
  sf?: [number, number],
  r?: number[],
) {
  const src = (d: number, inS: number, outS: number, f?: number) => {
    if (align) return outS > 1 ? (d * (inS - 1)) / (outS - 1) : 0;
    const v = (d + 0.5) / (f ?? outS / inS) - 0.5;
    return Math.max(0, v);
  };
  const out = new Array(n * c * oh * ow).fill(0);
  const dx = new Array(x.length).fill(0);
  for (let q = 0; q < n * c; q++)
    for (let y = 0; y < oh; y++)
      for (let z = 0; z < ow; z++) {
        const sy = src(y, h, oh, sf?.[0]);
        const sx = src(z, w, ow, sf?.[1]);
        const y0 = Math.floor(sy);
        const x0 = Math.floor(sx);
        const y1 = Math.min(y0 + 1, h - 1);
        const x1 = Math.min(x0 + 1, w - 1);
        const ly = sy - y0;
        const lx = sx - x0;
        const taps: Array<[number, number, number]> = [
          [y0, x0, (1 - ly) * (1 - lx)],
          [y0, x1, (1 - ly) * lx],
          [y1, x0, ly * (1 - lx)],
          [y1, x1, ly * lx],
        ];
        const k = (q * oh + y) * ow + z;
        for (const [a, b, wt] of taps) {
          out[k] += wt * x[(q * h + a) * w + b];
          if (r) dx[(q * h + a) * w + b] += wt * r[k];
        }
      }
  return { out, dx };
}

describe("F.interpolate: PyTorch's coordinate rules", () => {
  const row = tf.tensor([0, 1, 2, 3], [1, 1, 1, 4]);

  it("bilinear, alignCorners false: half-pixel centres clamped at 0 (torch: [0, .25, .75, ..., 2.75, 3])", () => {
    // torch.nn.functional.interpolate(torch.arange(4.).view(1,1,1,4), scale_factor=2, mode='bilinear')
    const y = F.interpolate(row, { scaleFactor: 2, mode: "bilinear" });
    const r8 = [0, 0.25, 0.75, 1.25, 1.75, 2.25, 2.75, 3];
    expectClose(y, [...r8, ...r8], 1e-6, [1, 1, 2, 8]);
  });

  it("bilinear, alignCorners true: corners map onto corners", () => {
    const y = F.interpolate(row, { size: [1, 7], mode: "bilinear", alignCorners: true });
    expectClose(y, [0, 0.5, 1, 1.5, 2, 2.5, 3], 1e-6, [1, 1, 1, 7]);
  });

  it("nearest: floor(dst * in / out), e.g. 3 -> 5 reads 0 0 1 1 2, and downsampling", () => {
    const x = tf.tensor([10, 20, 30], [1, 1, 1, 3]);
    expectClose(F.interpolate(x, { size: [1, 5] }), [10, 10, 20, 20, 30], 0, [1, 1, 1, 5]);
    expectClose(F.interpolate(x, { scaleFactor: [1, 2] }), [10, 10, 20, 20, 30, 30], 0);
    const big = tf.tensor([0, 1, 2, 3, 4, 5, 6], [1, 1, 1, 7]);
    // 7 -> 3: floor(d * 7/3) = 0, 2, 4.
    expectClose(F.interpolate(big, { size: [1, 3] }), [0, 2, 4], 0);
  });

  it("a scaleFactor maps coordinates by 1 / scaleFactor, not in / out (5 x 1.5 -> 7)", () => {
    const x = spread([1, 2, 5, 5]);
    const y = F.interpolate(x, { scaleFactor: 1.5, mode: "bilinear" });
    expect(y.shape).toEqual([1, 2, 7, 7]);
    expectClose(y, naiveBilinear(vals(x), [1, 2, 5, 5], [7, 7], false, [1.5, 1.5]).out, 1e-5);
    // The size-based mapping (5 / 7) gives different values, so the test tells them apart.
    const bySize = naiveBilinear(vals(x), [1, 2, 5, 5], [7, 7], false).out;
    expect(relErr(vals(y), bySize)).toBeGreaterThan(1e-3);
    // nearest with scale 1 / 2.5 on 4 -> 10: floor(d * 0.4).
    const z = F.interpolate(tf.tensor([1, 2, 3, 4], [1, 1, 1, 4]), { scaleFactor: [1, 2.5] });
    expectClose(z, [1, 1, 1, 2, 2, 3, 3, 3, 4, 4], 0);
  });

  it("rejects what PyTorch rejects", () => {
    expect(() => F.interpolate(row, { size: 2, scaleFactor: 2 })).toThrow(/only one of size or scaleFactor/);
    expect(() => F.interpolate(row, {})).toThrow(/either size or scaleFactor/);
    expect(() => F.interpolate(row, { size: 2, alignCorners: true })).toThrow(/alignCorners option can only be set/);
    expect(() => F.interpolate(spread([2, 3, 4]), { size: 2 })).toThrow(/expected 4-D input/);
  });
});

describe.each(["wasm", "cpu"])("F.interpolate / nn.Upsample gradients on %s", (backend) => {
  const previous = tf.getBackend();
  afterAll(async () => {
    await tf.setBackend(previous);
  });

  it.each([
    { size: [7, 5] as [number, number], align: false },
    { size: [7, 5] as [number, number], align: true },
    { size: [2, 3] as [number, number], align: false },
  ])("bilinear $size alignCorners=$align: forward and gradient match the formula", async ({ size, align }) => {
    await tf.setBackend(backend);
    const xs = [2, 2, 4, 3];
    const x = spreadVar(xs);
    const r = spread([2, 2, ...size], 0.4);
    const ref = naiveBilinear(vals(x), xs, size, align, undefined, vals(r));
    expectClose(F.interpolate(x, { size, mode: "bilinear", alignCorners: align }), ref.out, 1e-5, [2, 2, ...size]);
    const [g] = checkGrads(
      () => tf.sum(tf.mul(F.interpolate(x, { size, mode: "bilinear", alignCorners: align }), r)),
      [x],
    );
    expect(relErr(vals(g), ref.dx)).toBeLessThan(1e-5);
  });

  it("nearest upsampling: each input pixel's gradient is the sum over its copies", async () => {
    await tf.setBackend(backend);
    const x = spreadVar([1, 2, 2, 3]);
    const up = new nn.Upsample({ scaleFactor: 2 });
    expect(up.toString()).toBe("Upsample(scale_factor=2.0, mode='nearest')");
    const [g] = checkGrads(() => tf.sum(up.forward(x)), [x]);
    expectClose(g, new Array(12).fill(4), 1e-6);
  });
});

describe("nn.Upsample / UpsamplingBilinear2d", () => {
  it("Upsample passes its options to F.interpolate; UpsamplingBilinear2d aligns corners", () => {
    const x = spread([1, 1, 3, 3]);
    const up = new nn.Upsample({ size: [5, 4], mode: "bilinear" });
    expect(up.toString()).toBe("Upsample(size=(5, 4), mode='bilinear')");
    expectClose(up.forward(x), naiveBilinear(vals(x), [1, 1, 3, 3], [5, 4], false).out, 1e-5, [1, 1, 5, 4]);
    const ub = new nn.UpsamplingBilinear2d({ scaleFactor: 2 });
    expectClose(ub.forward(x), naiveBilinear(vals(x), [1, 1, 3, 3], [6, 6], true).out, 1e-5, [1, 1, 6, 6]);
    expect(new nn.UpsamplingNearest2d({ size: 6 }).forward(x).shape).toEqual([1, 1, 6, 6]);
  });
});
