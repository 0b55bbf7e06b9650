import { describe, it, expect, afterAll } from "vitest";
import { tf, nn, F, manualSeed } from "lightning-ts/torch";
import { checkGrads, expectClose, relErr, spread, spreadVar, vals } from "./helpers";

/**
 * Transposed convolution by PyTorch's scatter definition, in plain JS:
 * full[n, o, i s + a d, j s + b d] += x[n, c, i, j] w[c, o, a, b]; out = full cropped by
 * `padding` on the top/left, zero-extended by output padding, plus bias. Also returns the
 * gradients of sum(out * r).
 */
function naiveConvT(
  x: number[],
  [n, c, h, w]: number[],
  wt: number[],
  [, o, kh, kw]: number[],
  b: number[] | null,
  s: [number, number],
  p: [number, number],
  op: [number, number],
  d: [number, number],
  r?: number[],
) {
  const oh = (h - 1) * s[0] - 2 * p[0] + d[0] * (kh - 1) + op[0] + 1;
  const ow = (w - 1) * s[1] - 2 * p[1] + d[1] * (kw - 1) + op[1] + 1;
  const out = new Array(n * o * oh * ow).fill(0);
  const dx = new Array(x.length).fill(0);
  const dw = new Array(wt.length).fill(0);
  const db = new Array(o).fill(0);
  for (let ni = 0; ni < n; ni++)
    for (let oi = 0; oi < o; oi++)
      for (let y = 0; y < oh; y++)
        for (let z = 0; z < ow; z++) {
          const k = ((ni * o + oi) * oh + y) * ow + z;
          if (b) out[k] += b[oi];
          if (r) db[oi] += r[k];
        }
  for (let ni = 0; ni < n; ni++)
    for (let ci = 0; ci < c; ci++)
      for (let i = 0; i < h; i++)
        for (let j = 0; j < w; j++)
          for (let oi = 0; oi < o; oi++)
            for (let a = 0; a < kh; a++)
              for (let bb = 0; bb < kw; bb++) {
                const y = i * s[0] + a * d[0] - p[0];
                const z = j * s[1] + bb * d[1] - p[1];
                if (y < 0 || y >= oh || z < 0 || z >= ow) continue;
                const xi = ((ni * c + ci) * h + i) * w + j;
                const wi = ((ci * o + oi) * kh + a) * kw + bb;
                const k = ((ni * o + oi) * oh + y) * ow + z;
                out[k] += x[xi] * wt[wi];
                if (r) {
                  dx[xi] += r[k] * wt[wi];
                  dw[wi] += r[k] * x[xi];
                }
              }
  return { out, shape: [n, o, oh, ow], dx, dw, db };
}

const cases: Array<{
  name: string;
  xs: number[];
  ws: number[];
  s: [number, number];
  p: [number, number];
  op: [number, number];
  d: [number, number];
}> = [
  { name: "stride 1", xs: [2, 3, 4, 5], ws: [3, 2, 3, 3], s: [1, 1], p: [0, 0], op: [0, 0], d: [1, 1] },
  {
    name: "stride 2, padding 1, output padding 1",
    xs: [2, 3, 4, 4],
    ws: [3, 4, 3, 3],
    s: [2, 2],
    p: [1, 1],
    op: [1, 1],
    d: [1, 1],
  },
  { name: "non-square everything", xs: [1, 2, 3, 5], ws: [2, 3, 2, 3], s: [2, 1], p: [1, 0], op: [1, 0], d: [1, 2] },
  {
    name: "dilation 2, stride 3, output padding 2",
    xs: [1, 2, 3, 3],
    ws: [2, 2, 3, 2],
    s: [3, 3],
    p: [2, 1],
    op: [2, 0],
    d: [2, 2],
  },
];

describe.each(["wasm", "cpu"])("F.convTranspose2d on %s", (backend) => {
  const previous = tf.getBackend();
  afterAll(async () => {
    await tf.setBackend(previous);
  });

  it.each(cases)("matches the scatter definition and its gradients: $name", async ({ xs, ws, s, p, op, d }) => {
    await tf.setBackend(backend);
    const x = spreadVar(xs, 0.1);
    const w = spreadVar(ws, 0.7, 0.5);
    const b = spreadVar([ws[1]], 2.1);
    const opts = { stride: s, padding: p, outputPadding: op, dilation: d };
    const y = F.convTranspose2d(x, w, b, opts);
    const ref = naiveConvT(vals(x), xs, vals(w), ws, vals(b), s, p, op, d);
    // PyTorch's documented H_out = (H - 1) s - 2 p + d (k - 1) + output_padding + 1.
    expect(y.shape).toEqual(ref.shape);
    expectClose(y, ref.out, 1e-5);
    const r = spread(ref.shape, 1.3);
    const ours = checkGrads(() => tf.sum(tf.mul(F.convTranspose2d(x, w, b, opts), r)), [x, w, b]);
    const g = naiveConvT(vals(x), xs, vals(w), ws, vals(b), s, p, op, d, vals(r));
    expect(relErr(vals(ours[0]), g.dx)).toBeLessThan(1e-5);
    expect(relErr(vals(ours[1]), g.dw)).toBeLessThan(1e-5);
    expect(relErr(vals(ours[2]), g.db)).toBeLessThan(1e-5);
  });

  it("the layer trains: loss.backward() fills every parameter's grad", async () => {
    await tf.setBackend(backend);
    manualSeed(0);
    const layer = new nn.ConvTranspose2d(3, 2, 4, { stride: 2, padding: 1 });
    const x = spread([2, 3, 5, 5]);
    const out = layer.forward(x);
    expect(out.shape).toEqual([2, 2, 10, 10]);
    checkGrads(() => tf.mean(tf.square(layer.forward(x))), [layer.weight, layer.bias!]);
  });
});

describe("nn.ConvTranspose2d", () => {
  it("has PyTorch's weight layout [in, out, kh, kw], names and init bounds (fan_in = out * kh * kw)", () => {
    manualSeed(1);
    const layer = new nn.ConvTranspose2d(6, 4, [3, 2]);
    expect(layer.weight.shape).toEqual([6, 4, 3, 2]);
    expect(layer.bias!.shape).toEqual([4]);
    expect(Object.keys(layer.stateDict())).toEqual(["weight", "bias"]);
    // kaiming_uniform(a = sqrt 5): bound = gain sqrt(3 / fan_in), gain = sqrt(2 / 6) -> 1 / sqrt(fan_in).
    const bound = 1 / Math.sqrt(4 * 3 * 2);
    const wv = vals(layer.weight);
    expect(Math.max(...wv.map(Math.abs))).toBeLessThanOrEqual(bound);
    expect(Math.max(...wv.map(Math.abs))).toBeGreaterThan(0.8 * bound);
    expect(Math.max(...vals(layer.bias!).map(Math.abs))).toBeLessThanOrEqual(bound);
    expect(new nn.ConvTranspose2d(2, 3, 3, { bias: false }).bias).toBeNull();
    expect(new nn.ConvTranspose2d(2, 3, 3, { stride: 2, outputPadding: 1 }).toString()).toBe(
      "ConvTranspose2d(2, 3, kernel_size=(3, 3), stride=(2, 2), output_padding=(1, 1))",
    );
  });

  it("forward(x, outputSize) picks the output padding, as PyTorch's output_size", () => {
    const layer = new nn.ConvTranspose2d(1, 1, 3, { stride: 2, padding: 1 });
    const x = spread([1, 1, 4, 4]);
    expect(layer.forward(x).shape).toEqual([1, 1, 7, 7]);
    expect(layer.forward(x, [8, 8]).shape).toEqual([1, 1, 8, 8]);
    expectClose(
      layer.forward(x, [8, 7]),
      vals(F.convTranspose2d(x, layer.weight, layer.bias, { stride: 2, padding: 1, outputPadding: [1, 0] })),
      0,
    );
    expect(() => layer.forward(x, [9, 9])).toThrow(/valid sizes range from \[7\] to \[8\]/);
  });

  it("accepts unbatched input and refuses groups != 1 and bad output padding", () => {
    const layer = new nn.ConvTranspose2d(2, 3, 2);
    expect(layer.forward(spread([2, 3, 3])).shape).toEqual([3, 4, 4]);
    expect(() => new nn.ConvTranspose2d(4, 4, 3, { groups: 2 })).toThrow(/groups=2 is not supported \(only groups=1\)/);
    expect(() => F.convTranspose2d(spread([1, 2, 3, 3]), spread([2, 2, 3, 3]), null, { groups: 2 })).toThrow(
      /groups=2 is not supported/,
    );
    expect(() => new nn.ConvTranspose2d(1, 1, 3, { stride: 2, outputPadding: 2 })).toThrow(
      /output padding must be smaller/,
    );
    expect(() => layer.forward(spread([1, 3, 3, 3]))).toThrow(/expected input of shape \[N, 2, H, W\]/);
  });
});
