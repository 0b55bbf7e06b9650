import { describe, it, expect, beforeAll } from "vitest";
import { tf, F } from "lightning-ts/torch";
import { backendWith, checkGrads, expectClose, naiveConv2d, naiveConv2dGrads, spread, vals } from "../nn/helpers";

let backend = "";
beforeAll(async () => {
  // Conv gradients need Conv2DBackpropFilter (+ depthwise backprop kernels), which stock WASM lacks.
  backend = await backendWith([
    "Conv2DBackpropFilter",
    "Conv2DBackpropInput",
    "DepthwiseConv2dNativeBackpropFilter",
    "DepthwiseConv2dNativeBackpropInput",
  ]);
});

interface Case {
  name: string;
  xs: [number, number, number, number];
  ws: [number, number, number, number];
  opts: F.Conv2dOptions;
  /** [top, bottom, left, right] the naive reference should use. */
  pads: [number, number, number, number];
  bias?: boolean;
}

const cases: Case[] = [
  { name: "plain 3x3", xs: [2, 3, 6, 5], ws: [4, 3, 3, 3], opts: {}, pads: [0, 0, 0, 0] },
  {
    name: "padding 1, no bias",
    xs: [2, 2, 5, 5],
    ws: [3, 2, 3, 3],
    opts: { padding: 1 },
    pads: [1, 1, 1, 1],
    bias: false,
  },
  {
    name: "stride 2, padding 1",
    xs: [1, 2, 7, 6],
    ws: [3, 2, 3, 3],
    opts: { stride: 2, padding: 1 },
    pads: [1, 1, 1, 1],
  },
  {
    name: "stride [2, 1], padding [2, 0], 2x3 kernel",
    xs: [2, 2, 6, 7],
    ws: [2, 2, 2, 3],
    opts: { stride: [2, 1], padding: [2, 0] },
    pads: [2, 2, 0, 0],
  },
  { name: "dilation 2", xs: [1, 2, 7, 7], ws: [2, 2, 3, 3], opts: { dilation: 2 }, pads: [0, 0, 0, 0] },
  {
    name: "dilation [2, 3] with stride 2 and padding",
    xs: [2, 1, 9, 10],
    ws: [2, 1, 3, 2],
    opts: { dilation: [2, 3], stride: 2, padding: 1 },
    pads: [1, 1, 1, 1],
  },
  {
    name: "padding same, odd kernel",
    xs: [1, 2, 5, 4],
    ws: [2, 2, 3, 3],
    opts: { padding: "same" },
    pads: [1, 1, 1, 1],
  },
  // Even kernel: total padding 1, the extra pixel goes bottom/right as in PyTorch.
  {
    name: "padding same, even kernel",
    xs: [1, 2, 5, 4],
    ws: [2, 2, 2, 4],
    opts: { padding: "same" },
    pads: [0, 1, 1, 2],
  },
  {
    name: "padding same with dilation 2",
    xs: [1, 1, 6, 6],
    ws: [2, 1, 2, 3],
    opts: { padding: "same", dilation: 2 },
    pads: [1, 1, 2, 2],
  },
  { name: "padding valid", xs: [1, 2, 5, 5], ws: [2, 2, 3, 3], opts: { padding: "valid" }, pads: [0, 0, 0, 0] },
  { name: "groups 2", xs: [2, 4, 5, 5], ws: [6, 2, 3, 3], opts: { groups: 2, padding: 1 }, pads: [1, 1, 1, 1] },
  {
    name: "depthwise (groups = in = out)",
    xs: [2, 3, 5, 5],
    ws: [3, 1, 3, 3],
    opts: { groups: 3, padding: 1 },
    pads: [1, 1, 1, 1],
  },
  {
    name: "depthwise multiplier 2, stride 2",
    xs: [1, 2, 6, 6],
    ws: [4, 1, 3, 3],
    opts: { groups: 2, stride: 2 },
    pads: [0, 0, 0, 0],
  },
  {
    name: "groups 2 with stride [1, 2] and dilation",
    xs: [1, 4, 7, 8],
    ws: [2, 2, 2, 2],
    opts: { groups: 2, stride: [1, 2], dilation: 2 },
    pads: [0, 0, 0, 0],
  },
];

describe("F.conv2d against a naive NCHW convolution", () => {
  for (const c of cases) {
    it(`${c.name}: forward`, () => {
      const x = spread(c.xs, 0.1);
      const w = spread(c.ws, 2.3, 0.5);
      const b = c.bias === false ? null : spread([c.ws[0]], 5.1);
      const ref = naiveConv2d(vals(x), c.xs, vals(w), c.ws, b ? vals(b) : null, {
        stride: Array.isArray(c.opts.stride)
          ? (c.opts.stride as [number, number])
          : ([c.opts.stride ?? 1, c.opts.stride ?? 1] as [number, number]),
        dilation: Array.isArray(c.opts.dilation)
          ? (c.opts.dilation as [number, number])
          : ([c.opts.dilation ?? 1, c.opts.dilation ?? 1] as [number, number]),
        pads: c.pads,
        groups: c.opts.groups,
      });
      expectClose(F.conv2d(x, w, b, c.opts), ref.out, 1e-5, ref.shape);
    });

    it(`${c.name}: gradients (backward = tf.variableGrads = naive)`, () => {
      const x = tf.variable(spread(c.xs, 0.1));
      const w = tf.variable(spread(c.ws, 2.3, 0.5));
      const b = tf.variable(spread([c.ws[0]], 5.1));
      const y0 = F.conv2d(x, w, b, c.opts);
      const r = spread(y0.shape, 7.7);
      const [dx, dw, db] = checkGrads(() => tf.sum(tf.mul(F.conv2d(x, w, b, c.opts), r)), [x, w, b]);
      const ref = naiveConv2dGrads(vals(x), c.xs, vals(w), c.ws, vals(r), {
        stride: Array.isArray(c.opts.stride)
          ? (c.opts.stride as [number, number])
          : ([c.opts.stride ?? 1, c.opts.stride ?? 1] as [number, number]),
        dilation: Array.isArray(c.opts.dilation)
          ? (c.opts.dilation as [number, number])
          : ([c.opts.dilation ?? 1, c.opts.dilation ?? 1] as [number, number]),
        pads: c.pads,
        groups: c.opts.groups,
      });
      expectClose(dx, ref.dx, 1e-4);
      expectClose(dw, ref.dw, 1e-4);
      expectClose(db, ref.db, 1e-4);
    });
  }

  it("unbatched [C, H, W] input gives [out, H', W']", () => {
    const x = spread([2, 4, 4]);
    const w = spread([3, 2, 3, 3], 1);
    const batched = F.conv2d(tf.expandDims(x, 0), w, null, { padding: 1 });
    expectClose(F.conv2d(x, w, null, { padding: 1 }), vals(batched), 1e-6, [3, 4, 4]);
  });

  it("explains shape errors", () => {
    const w = spread([4, 3, 3, 3]);
    expect(() => F.conv2d(spread([2, 2, 5, 5]), w)).toThrow(
      /expected input \[N, 3, H, W\] with 3 channels .* got 2 channels/,
    );
    expect(() => F.conv2d(spread([2, 5, 5]), spread([1, 1, 3, 3]), null, { padding: "same", stride: 2 })).toThrow(
      /padding="same" is not supported for strided convolutions/,
    );
    expect(() => F.conv2d(spread([5, 5]), w)).toThrow(
      /expected input of shape \[N, 3, H, W\] or unbatched \[3, H, W\], got \[5, 5\]/,
    );
    expect(() => F.conv2d(spread([1, 3, 2, 2]), w)).toThrow(/smaller than the kernel size/);
  });
});

describe("F.conv1d", () => {
  it("matches the 2-D reference on a height-1 image, with stride, padding, dilation and groups", () => {
    const x = spread([2, 4, 9], 0.4);
    const w = spread([6, 2, 3], 1.1);
    const b = spread([6], 3);
    const ref = naiveConv2d(vals(x), [2, 4, 1, 9], vals(w), [6, 2, 1, 3], vals(b), {
      stride: [1, 2],
      pads: [0, 0, 2, 2],
      dilation: [1, 2],
      groups: 2,
    });
    expectClose(F.conv1d(x, w, b, { stride: 2, padding: 2, dilation: 2, groups: 2 }), ref.out, 1e-5, [
      2,
      6,
      ref.shape[3],
    ]);
  });

  it("gradients equal tf.variableGrads", () => {
    const x = tf.variable(spread([2, 3, 8]));
    const w = tf.variable(spread([2, 3, 3], 1));
    checkGrads(() => tf.sum(tf.square(F.conv1d(x, w, null, { padding: "same" }))), [x, w]);
  });
});

describe("backend", () => {
  it("runs on a backend with the gradient kernels", () => {
    expect(["cpu", "wasm", "tensorflow", "webgpu"]).toContain(backend);
  });
});
