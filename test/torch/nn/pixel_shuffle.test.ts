import { describe, it, expect } from "vitest";
import { tf, nn, F } from "lightning-ts/torch";
import { checkGrads, expectClose, spread, spreadVar, vals } from "./helpers";

describe("nn.PixelShuffle / F.pixelShuffle", () => {
  it("out[n, c, h r + i, w r + j] = in[n, c r^2 + i r + j, h, w]", () => {
    const [n, c, r, h, w] = [2, 2, 3, 2, 3];
    const x = spread([n, c * r * r, h, w]);
    const xv = vals(x);
    const expected: number[] = [];
    for (let ni = 0; ni < n; ni++)
      for (let ci = 0; ci < c; ci++)
        for (let y = 0; y < h * r; y++)
          for (let z = 0; z < w * r; z++) {
            const ch = ci * r * r + (y % r) * r + (z % r);
            expected.push(xv[((ni * c * r * r + ch) * h + Math.floor(y / r)) * w + Math.floor(z / r)]);
          }
    const ps = new nn.PixelShuffle(r);
    expect(ps.toString()).toBe("PixelShuffle(upscale_factor=3)");
    expectClose(ps.forward(x), expected, 0, [n, c, h * r, w * r]);
  });

  it("a hand-checkable 4 -> 1 channel case, unbatched and with extra leading dims", () => {
    const x = tf.tensor([1, 2, 3, 4], [4, 1, 1]);
    expectClose(F.pixelShuffle(x, 2), [1, 2, 3, 4], 0, [1, 2, 2]);
    expect(F.pixelShuffle(spread([2, 3, 8, 2, 2]), 2).shape).toEqual([2, 3, 2, 4, 4]);
  });

  it("PixelUnshuffle inverts it, and the gradient is the inverse permutation", () => {
    const x = spreadVar([2, 8, 3, 2]);
    const y = F.pixelShuffle(x, 2);
    const un = new nn.PixelUnshuffle(2);
    expectClose(un.forward(y), vals(x), 0, [2, 8, 3, 2]);
    const r = spread([2, 2, 6, 4], 0.5);
    const [g] = checkGrads(() => tf.sum(tf.mul(F.pixelShuffle(x, 2), r)), [x]);
    expectClose(g, vals(F.pixelUnshuffle(r, 2)), 0);
  });

  it("rejects channels not divisible by r^2", () => {
    expect(() => F.pixelShuffle(spread([1, 6, 2, 2]), 2)).toThrow(/must be divisible by upscaleFactor\^2 \(4\)/);
    expect(() => F.pixelUnshuffle(spread([1, 1, 3, 4]), 2)).toThrow(/must be divisible by downscaleFactor/);
  });
});
