/**
 * Each kernel shim, called directly through the engine, against a textbook float64 reference
 * (naive_reference.ts) and, where tfjs has the kernel, against the pure-JS backend's own
 * implementation; strides, explicit/same/valid padding, dilations, NHWC and NCHW, chunked
 * batches. Also: the shims free everything they allocate, on success and on error.
 */
import { afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { selectBackend } from "../../../src/torch/backends/select";
import { installedKernelShims, withOriginalKernels } from "../../../src/torch/backends/kernels/index";
import { imMatrixSimd, patchMatrixLimit } from "../../../src/torch/backends/kernels/im2col";
import { filterGradientChunk, filterGradientDirect, filterGradientGroup, filterGradientPanels } from "../../../src/torch/backends/kernels/conv2d_backprop_filter";
import { convGemm, panelBlock, panelsFrom } from "../../../src/torch/backends/kernels/conv2d";
import { MAX_POOL_NCHW, MAX_POOL_NCHW_GRAD } from "../../../src/torch/backends/kernels/max_pool_nchw";
import { asBatchedMatrices } from "../../../src/torch/backends/kernels/transpose";
import { asOuterKeptInner } from "../../../src/torch/backends/kernels/sum";
import { RELU_GRAD } from "../../../src/torch/backends/kernels/relu_grad";
import { CROSS_ENTROPY, CROSS_ENTROPY_GRAD, crossEntropySimd, expNonPositive, expSum } from "../../../src/torch/backends/kernels/cross_entropy";
import { LINEAR } from "../../../src/torch/backends/kernels/linear";
import { copyBox } from "../../../src/torch/backends/kernels/slice";
import { withRounding } from "../../../src/torch/amp/kernel_rounding";
import { F } from "../../../src/torch/index";
import { maxAbs, mixed, relativeError, tf } from "./parity";
import * as naive from "./naive_reference";

type Backend = "wasm" | "cpu";
type Pads = [number, number, number, number]; // top, bottom, left, right
interface Plain {
  shape: number[];
  values: number[];
  dtype?: "float32" | "int32";
}

const TOL = 1e-5;

beforeAll(async () => {
  await selectBackend("wasm");
});

const defaultLimit = patchMatrixLimit.elements;
const defaultGroup = filterGradientGroup.positions;
const defaultDirect = filterGradientDirect.maxInChannels;
const defaultPanelBlock = panelBlock.bytes;
const defaultPanelsFrom = panelsFrom.channelProduct;
const defaultChunk = filterGradientChunk.positions;
afterEach(() => {
  panelBlock.bytes = defaultPanelBlock;
  panelsFrom.channelProduct = defaultPanelsFrom;
  filterGradientChunk.positions = defaultChunk;
  filterGradientPanels.enabled = true;
  vi.restoreAllMocks();
  patchMatrixLimit.elements = defaultLimit;
  filterGradientGroup.positions = defaultGroup;
  filterGradientDirect.maxInChannels = defaultDirect;
  imMatrixSimd.enabled = true;
});

/** Runs one kernel on `backend` and returns its output values. */
async function kernel(
  backend: Backend,
  name: string,
  inputs: Record<string, Plain>,
  attrs: Record<string, unknown>,
  originals = false,
): Promise<Float32Array> {
  await selectBackend(backend);
  const run = () => {
    const ts: Record<string, tf.Tensor> = {};
    for (const [k, v] of Object.entries(inputs)) ts[k] = tf.tensor(v.values, v.shape, v.dtype ?? "float32");
    const out = tf.engine().runKernel(name, ts, attrs as never) as tf.Tensor;
    const values = out.dataSync() as Float32Array;
    tf.dispose([out, ...Object.values(ts)]);
    return Float32Array.from(values);
  };
  return originals ? withOriginalKernels(backend, run) : run();
}

function plain(shape: number[], salt: number): Plain {
  return { shape, values: mixed(shape, salt).values };
}

/** NHWC values of shape [a, b, c, d] as NCHW [a, d, b, c]. */
function toNCHW(p: Plain): Plain {
  const [a, b, c, d] = p.shape;
  const out = new Array<number>(p.values.length);
  for (let i = 0; i < a; i++)
    for (let y = 0; y < b; y++)
      for (let x = 0; x < c; x++)
        for (let ch = 0; ch < d; ch++) out[((i * d + ch) * b + y) * c + x] = p.values[((i * b + y) * c + x) * d + ch];
  return { shape: [a, d, b, c], values: out };
}

function explicit(p: Pads): [[number, number], [number, number], [number, number], [number, number]] {
  return [
    [0, 0],
    [p[0], p[1]],
    [p[2], p[3]],
    [0, 0],
  ];
}

interface ConvCase {
  name: string;
  n: number;
  h: number;
  w: number;
  c: number;
  k: number;
  fh: number;
  fw: number;
  stride: [number, number];
  pads: Pads;
}

const convCases: ConvCase[] = [
  { name: "3x3 stride 1 pad 1", n: 2, h: 6, w: 6, c: 3, k: 4, fh: 3, fw: 3, stride: [1, 1], pads: [1, 1, 1, 1] },
  { name: "3x3 stride 2 valid", n: 2, h: 9, w: 8, c: 2, k: 5, fh: 3, fw: 3, stride: [2, 2], pads: [0, 0, 0, 0] },
  { name: "5x3 stride (2,3) asymmetric pad", n: 1, h: 11, w: 10, c: 3, k: 2, fh: 5, fw: 3, stride: [2, 3], pads: [2, 1, 0, 2] },
  { name: "1x1 stride 1", n: 3, h: 4, w: 5, c: 6, k: 7, fh: 1, fw: 1, stride: [1, 1], pads: [0, 0, 0, 0] },
  { name: "2x2 stride 3 (gaps between taps)", n: 2, h: 8, w: 8, c: 5, k: 3, fh: 2, fw: 2, stride: [3, 3], pads: [1, 0, 0, 1] },
];

function geometry(cs: ConvCase, dilation: [number, number] = [1, 1]): naive.Geometry {
  return {
    n: cs.n,
    h: cs.h,
    w: cs.w,
    c: cs.c,
    fh: cs.fh,
    fw: cs.fw,
    stride: cs.stride,
    dilation,
    pad: [cs.pads[0], cs.pads[2]],
    oh: naive.outSize(cs.h, cs.fh, cs.stride[0], dilation[0], cs.pads[0], cs.pads[1]),
    ow: naive.outSize(cs.w, cs.fw, cs.stride[1], dilation[1], cs.pads[2], cs.pads[3]),
  };
}

function expectClose(actual: Float32Array, expected: ArrayLike<number>): void {
  expect(actual.length).toBe(expected.length);
  expect(maxAbs(expected)).toBeGreaterThan(0);
  expect(relativeError(actual, expected)).toBeLessThanOrEqual(TOL);
}

describe("Conv2DBackpropFilter", () => {
  for (const backend of ["wasm", "cpu"] as const) {
    for (const cs of convCases) {
      it(`${backend}: ${cs.name}, NHWC and NCHW, equals the textbook sum`, async () => {
        const g = geometry(cs);
        const x = plain([cs.n, cs.h, cs.w, cs.c], 1);
        const dy = plain([cs.n, g.oh, g.ow, cs.k], 2);
        const expected = naive.convFilterGrad(x.values, dy.values, g, cs.k);
        const attrs = { strides: cs.stride, pad: explicit(cs.pads), filterShape: [cs.fh, cs.fw, cs.c, cs.k] };
        expectClose(await kernel(backend, "Conv2DBackpropFilter", { x, dy }, { ...attrs, dataFormat: "NHWC" }), expected);
        const nchw = { x: toNCHW(x), dy: toNCHW(dy) };
        expectClose(await kernel(backend, "Conv2DBackpropFilter", nchw, { ...attrs, dataFormat: "NCHW" }), expected);
      });
    }
  }

  it("matches the pure-JS backend's own kernel for 'same', 'valid' and numeric padding", async () => {
    for (const pad of ["same", "valid", 2] as const) {
      const x = plain([2, 7, 6, 3], 3);
      const [oh, ow] = pad === "same" ? [4, 3] : pad === "valid" ? [3, 2] : [5, 4];
      const dy = plain([2, oh, ow, 4], 4);
      const attrs = { strides: 2, pad, dataFormat: "NHWC", filterShape: [3, 3, 3, 4] };
      const reference = await kernel("cpu", "Conv2DBackpropFilter", { x, dy }, attrs, true);
      expectClose(await kernel("wasm", "Conv2DBackpropFilter", { x, dy }, attrs), reference);
      expectClose(await kernel("cpu", "Conv2DBackpropFilter", { x, dy }, attrs), reference);
    }
  });

  it("wasm: a batch split into several chunks sums to the same gradient", async () => {
    const cs = convCases[0];
    const g = geometry(cs);
    const x = plain([5, cs.h, cs.w, cs.c], 5);
    const dy = plain([5, g.oh, g.ow, cs.k], 6);
    const expected = naive.convFilterGrad(x.values, dy.values, { ...g, n: 5 }, cs.k);
    // One image's patch matrix is 36 x 27; allow two images per chunk → chunks of 2, 2, 1.
    patchMatrixLimit.elements = 2 * g.oh * g.ow * cs.fh * cs.fw * cs.c;
    const attrs = { strides: cs.stride, pad: explicit(cs.pads), dataFormat: "NHWC", filterShape: [3, 3, cs.c, cs.k] };
    expectClose(await kernel("wasm", "Conv2DBackpropFilter", { x, dy }, attrs), expected);
  });
});

/**
 * The WASM SIMD sum for few input channels, emulated in JavaScript in its own order: each product
 * rounded to float32 and added to a float32 accumulator position by position, runs of `run`
 * positions summed in float64. Bit-for-bit equality shows the SIMD pass ran, and ran in this order.
 */
function filterGradRuns(xValues: ArrayLike<number>, dyValues: ArrayLike<number>, g: naive.Geometry, k: number, run: number): Float32Array {
  const [x, dy] = [Float32Array.from(xValues), Float32Array.from(dyValues)];
  const P = g.fh * g.fw * g.c;
  const acc = new Float64Array(P * k);
  const part = new Float32Array(P * k);
  const positions = g.n * g.oh * g.ow;
  for (let m = 0; m < positions; m++) {
    const [b, oy, ox] = [Math.floor(m / (g.oh * g.ow)), Math.floor(m / g.ow) % g.oh, m % g.ow];
    for (let ky = 0; ky < g.fh; ky++)
      for (let kx = 0; kx < g.fw; kx++) {
        const s = naive.source(g, oy, ox, ky, kx);
        if (!s) continue;
        for (let ci = 0; ci < g.c; ci++) {
          const a = x[((b * g.h + s[0]) * g.w + s[1]) * g.c + ci]!;
          const o = ((ky * g.fw + kx) * g.c + ci) * k;
          for (let co = 0; co < k; co++) part[o + co] = part[o + co]! + Math.fround(a * dy[m * k + co]!);
        }
      }
    if ((m + 1) % run === 0 || m === positions - 1) {
      for (let i = 0; i < P * k; i++) acc[i] += part[i]!;
      part.fill(0);
    }
  }
  return Float32Array.from(acc);
}

describe("Conv2DBackpropFilter summed straight from x and dy (WASM, conv_filter_grad_simd.wat: one input channel by default, any count)", () => {
  const cases: (ConvCase & { dilation?: [number, number] })[] = [
    { name: "1 channel, 32 filters, 3x3 pad 1", n: 3, h: 9, w: 7, c: 1, k: 32, fh: 3, fw: 3, stride: [1, 1], pads: [1, 1, 1, 1] },
    { name: "3 channels, 20 filters (a 16 and a 4), stride 2", n: 2, h: 9, w: 8, c: 3, k: 20, fh: 3, fw: 3, stride: [2, 2], pads: [0, 1, 1, 0] },
    { name: "2 channels, 4 filters, 5x3 stride (2,3)", n: 2, h: 11, w: 10, c: 2, k: 4, fh: 5, fw: 3, stride: [2, 3], pads: [2, 1, 0, 2] },
    { name: "4 channels, 8 filters, dilation 2", n: 2, h: 9, w: 9, c: 4, k: 8, fh: 3, fw: 3, stride: [1, 1], pads: [2, 2, 2, 2], dilation: [2, 2] },
  ];
  for (const cs of cases) {
    it(`${cs.name}: the textbook sum, and bit for bit the float32 runs summed in float64`, async () => {
      const g = geometry(cs, cs.dilation);
      const x = plain([cs.n, cs.h, cs.w, cs.c], 7);
      const dy = plain([cs.n, g.oh, g.ow, cs.k], 8);
      // Runs that end inside an image and inside a row.
      filterGradientGroup.positions = 13;
      filterGradientDirect.maxInChannels = 4;
      const attrs = { strides: cs.stride, pad: explicit(cs.pads), dilations: cs.dilation ?? [1, 1], dataFormat: "NHWC", filterShape: [cs.fh, cs.fw, cs.c, cs.k] };
      const simd = await kernel("wasm", "Conv2DBackpropFilter", { x, dy }, attrs);
      expectClose(simd, naive.convFilterGrad(x.values, dy.values, g, cs.k));
      expect(Array.from(simd)).toEqual(Array.from(filterGradRuns(x.values, dy.values, g, cs.k, 13)));
      // The same layers through the packed panels, whose runs are whole images (one here).
      filterGradientDirect.maxInChannels = 0;
      const panels = await kernel("wasm", "Conv2DBackpropFilter", { x, dy }, attrs);
      expect(Array.from(panels)).toEqual(Array.from(filterGradRuns(x.values, dy.values, g, cs.k, g.oh * g.ow)));
    });
  }
});

describe("Conv2DBackpropFilter as packed panels (WASM, conv_gemm_simd.wat)", () => {
  const cases: (ConvCase & { dilation?: [number, number] })[] = [
    { name: "8 channels, 16 filters, 3x3 pad 1", n: 3, h: 9, w: 7, c: 8, k: 16, fh: 3, fw: 3, stride: [1, 1], pads: [1, 1, 1, 1] },
    { name: "5 channels (P = 45: a partial panel), 13 filters (a partial column block), stride 2", n: 2, h: 9, w: 8, c: 5, k: 13, fh: 3, fw: 3, stride: [2, 2], pads: [0, 1, 1, 0] },
    { name: "12 channels, 6 filters, 5x3 stride (1,3), dilation 2", n: 2, h: 14, w: 16, c: 12, k: 6, fh: 5, fw: 3, stride: [1, 3], pads: [2, 2, 1, 1], dilation: [2, 2] },
    { name: "7 channels, 9 filters, 1x1", n: 2, h: 5, w: 6, c: 7, k: 9, fh: 1, fw: 1, stride: [1, 1], pads: [0, 0, 0, 0] },
  ];
  for (const cs of cases) {
    it(`${cs.name}: bit for bit the float32 runs of whole images summed in float64 (one image and the default), packed whole and in chunks of 5, as the matMul path`, async () => {
      const g = geometry(cs, cs.dilation);
      const x = plain([cs.n, cs.h, cs.w, cs.c], 11);
      const dy = plain([cs.n, g.oh, g.ow, cs.k], 12);
      const attrs = { strides: cs.stride, pad: explicit(cs.pads), dilations: cs.dilation ?? [1, 1], dataFormat: "NHWC", filterShape: [cs.fh, cs.fw, cs.c, cs.k] };
      const ran = vi.spyOn(convGemm, "exportsFor");
      // The product paths' runs: as many whole images as fit in `positions`, at least one.
      const perImage = g.oh * g.ow;
      const run = (positions: number) => Math.max(1, Math.floor(positions / perImage)) * perImage;
      for (const positions of [13, defaultGroup]) {
        filterGradientGroup.positions = positions;
        const expected = Array.from(filterGradRuns(x.values, dy.values, g, cs.k, run(positions)));
        for (const chunk of [defaultChunk, 5]) {
          filterGradientChunk.positions = chunk;
          const panels = await kernel("wasm", "Conv2DBackpropFilter", { x, dy }, attrs);
          expect(Array.from(panels)).toEqual(expected);
          expectClose(panels, naive.convFilterGrad(x.values, dy.values, g, cs.k));
        }
        // A multi-threaded backend's path (XNNPACK's matMul per run): the same bits.
        filterGradientPanels.enabled = false;
        expect(Array.from(await kernel("wasm", "Conv2DBackpropFilter", { x, dy }, attrs))).toEqual(expected);
        filterGradientPanels.enabled = true;
      }
      expect(ran).toHaveReturnedWith(expect.anything());
      // NCHW: the same gradient.
      const nchw = await kernel("wasm", "Conv2DBackpropFilter", { x: toNCHW(x), dy: toNCHW(dy) }, { ...attrs, dataFormat: "NCHW" });
      expect(Array.from(nchw)).toEqual(Array.from(filterGradRuns(x.values, dy.values, g, cs.k, run(defaultGroup))));
    });
  }
});

describe("Conv2D as packed panels (WASM, conv_gemm_simd.wat)", () => {
  const cases: (ConvCase & { dilation?: [number, number] })[] = [
    ...convCases,
    { name: "32 channels, 64 filters, 3x3 pad 1 (the benchmark CNN's second layer, shrunk)", n: 2, h: 7, w: 7, c: 32, k: 64, fh: 3, fw: 3, stride: [1, 1], pads: [1, 1, 1, 1] },
    { name: "9 channels, 11 filters, dilation 2, stride 2", n: 3, h: 13, w: 11, c: 9, k: 11, fh: 3, fw: 3, stride: [2, 2], pads: [2, 1, 2, 2], dilation: [2, 2] },
  ];
  for (const cs of cases) {
    it(`${cs.name}: XNNPACK's bits, NHWC and NCHW, in one block of tiles and in blocks of one`, async () => {
      const g = geometry(cs, cs.dilation);
      const x = plain([cs.n, cs.h, cs.w, cs.c], 23);
      const filter = plain([cs.fh, cs.fw, cs.c, cs.k], 24);
      const attrs = { strides: cs.stride, pad: explicit(cs.pads), dilations: cs.dilation ?? [1, 1], dataFormat: "NHWC" };
      const xnnpack = await kernel("wasm", "Conv2D", { x, filter }, attrs, true);
      expectClose(xnnpack, naive.conv(x.values, filter.values, g, cs.k));
      panelsFrom.channelProduct = 0;
      const ran = vi.spyOn(convGemm, "exportsFor");
      for (const bytes of [defaultPanelBlock, 1]) {
        panelBlock.bytes = bytes;
        expect(Array.from(await kernel("wasm", "Conv2D", { x, filter }, attrs))).toEqual(Array.from(xnnpack));
      }
      expect(ran).toHaveReturnedWith(expect.anything());
      const nchw = await kernel("wasm", "Conv2D", { x: toNCHW(x), filter }, { ...attrs, dataFormat: "NCHW" });
      expect(Array.from(nchw)).toEqual(toNCHW({ shape: [cs.n, g.oh, g.ow, cs.k], values: Array.from(xnnpack) }).values);
    });
  }

  it("leaves narrow layers to XNNPACK (below panelsFrom's channel product)", async () => {
    const x = plain([2, 6, 6, 3], 25);
    const filter = plain([3, 3, 3, 4], 26);
    const ran = vi.spyOn(convGemm, "exportsFor");
    const attrs = { strides: 1, pad: "same", dilations: 1, dataFormat: "NHWC" };
    expect(Array.from(await kernel("wasm", "Conv2D", { x, filter }, attrs))).toEqual(Array.from(await kernel("wasm", "Conv2D", { x, filter }, attrs, true)));
    expect(ran).not.toHaveBeenCalled();
  });
});

describe("the transposed patch matrix in WebAssembly SIMD (WASM's matMul path, channels in fours)", () => {
  const cases: (ConvCase & { dilation?: [number, number] })[] = [
    { name: "8 channels, 3x3 pad 1 (rows of 13: blocks and a remainder)", n: 3, h: 13, w: 13, c: 8, k: 6, fh: 3, fw: 3, stride: [1, 1], pads: [1, 1, 1, 1] },
    { name: "4 channels, stride 2, asymmetric pad", n: 2, h: 11, w: 12, c: 4, k: 5, fh: 3, fw: 3, stride: [2, 2], pads: [0, 1, 2, 0] },
    { name: "12 channels, 5x3 stride (1,3), dilation 2", n: 2, h: 14, w: 16, c: 12, k: 3, fh: 5, fw: 3, stride: [1, 3], pads: [2, 2, 1, 1], dilation: [2, 2] },
  ];
  for (const cs of cases) {
    it(`${cs.name}: the same filter gradient, bit for bit, as the JavaScript pass, in one chunk and in several`, async () => {
      const g = geometry(cs, cs.dilation);
      const x = plain([cs.n, cs.h, cs.w, cs.c], 9);
      const dy = plain([cs.n, g.oh, g.ow, cs.k], 10);
      const attrs = { strides: cs.stride, pad: explicit(cs.pads), dilations: cs.dilation ?? [1, 1], dataFormat: "NHWC", filterShape: [cs.fh, cs.fw, cs.c, cs.k] };
      filterGradientDirect.maxInChannels = 0;
      filterGradientPanels.enabled = false;
      for (const imagesPerChunk of [cs.n, 1]) {
        patchMatrixLimit.elements = imagesPerChunk * g.oh * g.ow * cs.fh * cs.fw * cs.c;
        imMatrixSimd.enabled = true;
        const simd = await kernel("wasm", "Conv2DBackpropFilter", { x, dy }, attrs);
        imMatrixSimd.enabled = false;
        const js = await kernel("wasm", "Conv2DBackpropFilter", { x, dy }, attrs);
        expect(Array.from(simd)).toEqual(Array.from(js));
        expectClose(simd, naive.convFilterGrad(x.values, dy.values, g, cs.k));
      }
    });
  }
});

describe("Conv2DBackpropInput", () => {
  for (const backend of ["wasm", "cpu"] as const) {
    for (const cs of convCases) {
      it(`${backend}: ${cs.name}, NHWC and NCHW, equals the textbook sum`, async () => {
        const g = geometry(cs);
        const filter = plain([cs.fh, cs.fw, cs.c, cs.k], 7);
        const dy = plain([cs.n, g.oh, g.ow, cs.k], 8);
        const expected = naive.convInputGrad(filter.values, dy.values, g, cs.k);
        const attrs = { strides: cs.stride, pad: explicit(cs.pads) };
        const nhwc = await kernel(backend, "Conv2DBackpropInput", { dy, filter }, {
          ...attrs,
          dataFormat: "NHWC",
          inputShape: [cs.n, cs.h, cs.w, cs.c],
        });
        expectClose(nhwc, expected);
        const nchw = await kernel(backend, "Conv2DBackpropInput", { dy: toNCHW(dy), filter }, {
          ...attrs,
          dataFormat: "NCHW",
          inputShape: [cs.n, cs.c, cs.h, cs.w],
        });
        expectClose(nchw, toNCHW({ shape: [cs.n, cs.h, cs.w, cs.c], values: Array.from(expected) }).values);
      });
    }
  }

  it("matches tfjs's own WASM kernel and the pure-JS one for 'same' padding, also chunked", async () => {
    const filter = plain([3, 3, 4, 5], 9);
    const dy = plain([3, 4, 4, 5], 10);
    const attrs = { strides: 2, pad: "same", dataFormat: "NHWC", inputShape: [3, 8, 7, 4] };
    const reference = await kernel("cpu", "Conv2DBackpropInput", { dy, filter }, attrs, true);
    expectClose(await kernel("wasm", "Conv2DBackpropInput", { dy, filter }, attrs, true), reference);
    expectClose(await kernel("wasm", "Conv2DBackpropInput", { dy, filter }, attrs), reference);
    patchMatrixLimit.elements = 16 * 36;
    expectClose(await kernel("wasm", "Conv2DBackpropInput", { dy, filter }, attrs), reference);
  });
});

describe("Conv2D (pure JS)", () => {
  for (const cs of convCases) {
    it(`${cs.name}, NHWC and NCHW, equals the textbook sum`, async () => {
      const g = geometry(cs);
      const x = plain([cs.n, cs.h, cs.w, cs.c], 19);
      const filter = plain([cs.fh, cs.fw, cs.c, cs.k], 20);
      const expected = naive.conv(x.values, filter.values, g, cs.k);
      const attrs = { strides: cs.stride, pad: explicit(cs.pads), dilations: 1 };
      expectClose(await kernel("cpu", "Conv2D", { x, filter }, { ...attrs, dataFormat: "NHWC" }), expected);
      const nchw = await kernel("cpu", "Conv2D", { x: toNCHW(x), filter }, { ...attrs, dataFormat: "NCHW" });
      expectClose(nchw, toNCHW({ shape: [cs.n, g.oh, g.ow, cs.k], values: Array.from(expected) }).values);
    });
  }

  it("dilation 2 and 'same' padding match tfjs's own kernel and the textbook sum", async () => {
    const x = plain([2, 9, 8, 3], 21);
    const filter = plain([3, 3, 3, 4], 22);
    const cs: ConvCase = { name: "", n: 2, h: 9, w: 8, c: 3, k: 4, fh: 3, fw: 3, stride: [1, 1], pads: [2, 2, 2, 2] };
    const expected = naive.conv(x.values, filter.values, geometry(cs, [2, 2]), 4);
    const attrs = { strides: 1, pad: "same", dilations: 2, dataFormat: "NHWC" };
    expectClose(await kernel("cpu", "Conv2D", { x, filter }, attrs), expected);
    expectClose(await kernel("cpu", "Conv2D", { x, filter }, attrs, true), expected);
    const strided = { strides: 2, pad: "same", dilations: 1, dataFormat: "NHWC" };
    expectClose(await kernel("cpu", "Conv2D", { x, filter }, strided), await kernel("cpu", "Conv2D", { x, filter }, strided, true));
  });
});

describe("DepthwiseConv2dNative gradients (WASM)", () => {
  const cases = [
    { name: "multiplier 1, stride 1, same", n: 2, h: 6, w: 5, c: 3, m: 1, f: 3, stride: 1, dilation: 1 },
    { name: "multiplier 2, stride 2", n: 2, h: 7, w: 7, c: 2, m: 2, f: 3, stride: 2, dilation: 1 },
    { name: "multiplier 3, 2x2", n: 1, h: 5, w: 6, c: 4, m: 3, f: 2, stride: 1, dilation: 1 },
    { name: "multiplier 1, dilation 2", n: 2, h: 8, w: 8, c: 3, m: 1, f: 3, stride: 1, dilation: 2 },
    { name: "multiplier 2, dilation 2", n: 1, h: 7, w: 9, c: 2, m: 2, f: 2, stride: 1, dilation: 2 },
  ];
  for (const cs of cases) {
    it(`${cs.name}: filter and input gradients equal the textbook sums`, async () => {
      // 'valid' padding with dilation, explicit padding 1 otherwise.
      const pads: Pads = cs.dilation > 1 ? [0, 0, 0, 0] : [1, 1, 1, 1];
      const g = geometry(
        { name: cs.name, n: cs.n, h: cs.h, w: cs.w, c: cs.c, k: cs.c * cs.m, fh: cs.f, fw: cs.f, stride: [cs.stride, cs.stride], pads },
        [cs.dilation, cs.dilation],
      );
      const x = plain([cs.n, cs.h, cs.w, cs.c], 11);
      const filter = plain([cs.f, cs.f, cs.c, cs.m], 12);
      const dy = plain([cs.n, g.oh, g.ow, cs.c * cs.m], 13);
      const attrs = { strides: cs.stride, dilations: cs.dilation, pad: cs.dilation > 1 ? "valid" : 1 };
      const dW = await kernel("wasm", "DepthwiseConv2dNativeBackpropFilter", { x, dy }, { ...attrs, filterShape: filter.shape });
      expectClose(dW, naive.depthwiseFilterGrad(x.values, dy.values, g, cs.m));
      const dx = await kernel("wasm", "DepthwiseConv2dNativeBackpropInput", { dy, filter }, { ...attrs, inputShape: x.shape });
      expectClose(dx, naive.depthwiseInputGrad(filter.values, dy.values, g, cs.m));
      if (cs.dilation === 1) {
        // tfjs's pure-JS kernels agree where they are defined (they ignore dilations).
        expectClose(dW, await kernel("cpu", "DepthwiseConv2dNativeBackpropFilter", { x, dy }, { ...attrs, filterShape: filter.shape }));
        expectClose(dx, await kernel("cpu", "DepthwiseConv2dNativeBackpropInput", { dy, filter }, { ...attrs, inputShape: x.shape }));
      }
    });
  }
});

describe("MaxPoolGrad (WASM)", () => {
  const cases = [
    { name: "2x2 stride 2 valid", h: 6, w: 6, f: 2, stride: 2, pad: "valid" as const, pads: [0, 0] },
    { name: "3x3 stride 2 same", h: 7, w: 6, f: 3, stride: 2, pad: "same" as const, pads: [1, 0] },
    { name: "3x3 stride 1 same (overlapping windows)", h: 5, w: 5, f: 3, stride: 1, pad: "same" as const, pads: [1, 1] },
  ];
  for (const cs of cases) {
    it(`${cs.name}, on all-negative data: the gradient reaches each window's maximum`, async () => {
      const n = 2;
      const c = 3;
      const oh = cs.pad === "valid" ? Math.floor((cs.h - cs.f) / cs.stride) + 1 : Math.ceil(cs.h / cs.stride);
      const ow = cs.pad === "valid" ? Math.floor((cs.w - cs.f) / cs.stride) + 1 : Math.ceil(cs.w / cs.stride);
      // Strictly negative, distinct values: tfjs's own WASM kernel gets every window wrong.
      const xs = plain([n, cs.h, cs.w, c], 14);
      const x = { shape: xs.shape, values: xs.values.map((v) => -1.5 + 0.5 * v) };
      const dy = plain([n, oh, ow, c], 15);
      const g: naive.Geometry = {
        n, h: cs.h, w: cs.w, c, oh, ow, fh: cs.f, fw: cs.f,
        stride: [cs.stride, cs.stride], dilation: [1, 1], pad: [cs.pads[0], cs.pads[1]],
      };
      const expected = naive.maxPoolGrad(x.values, dy.values, g);
      const output = await kernel("wasm", "MaxPool", { x }, { filterSize: cs.f, strides: cs.stride, pad: cs.pad });
      const inputs = { dy, input: x, output: { shape: [n, oh, ow, c], values: Array.from(output) } };
      const attrs = { filterSize: cs.f, strides: cs.stride, pad: cs.pad };
      expectClose(await kernel("wasm", "MaxPoolGrad", inputs, attrs), expected);
      expectClose(await kernel("cpu", "MaxPoolGrad", inputs, attrs), expected);
      expect(relativeError(await kernel("wasm", "MaxPoolGrad", inputs, attrs, true), expected)).toBeGreaterThan(0.1);
    });
  }
});

describe("MaxPoolGrad 2x2 / stride 2 in WebAssembly SIMD (WASM, channels in fours)", () => {
  it("gives the JS pass's results bit for bit: ties to the first, NaN and -inf never win, an odd last row and column get 0", async () => {
    const [n, h, w, c] = [2, 7, 5, 8];
    const xs = plain([n, h, w, c], 21);
    // coarse values make ties; a few NaN and -inf
    const values = xs.values.map((v, i) => (i % 37 === 0 ? NaN : i % 41 === 0 ? -Infinity : Math.round(v * 3) / 3));
    const x = { shape: xs.shape, values };
    const [oh, ow] = [3, 2];
    const dy = plain([n, oh, ow, c], 22);
    const attrs = { filterSize: 2, strides: 2, pad: "valid" };
    const inputs = { dy, input: x, output: { shape: [n, oh, ow, c], values: new Array(n * oh * ow * c).fill(0) } };
    const simdResult = Array.from(await kernel("wasm", "MaxPoolGrad", inputs, attrs));
    const jsResult = Array.from(await kernel("cpu", "MaxPoolGrad", inputs, attrs));
    expect(simdResult).toEqual(jsResult);
    const finite = values.map((v) => (Number.isNaN(v) ? -Infinity : v));
    const g: naive.Geometry = { n, h, w, c, oh, ow, fh: 2, fw: 2, stride: [2, 2], dilation: [1, 1], pad: [0, 0] };
    expectClose(Float32Array.from(simdResult), naive.maxPoolGrad(finite, dy.values, g));
  });
});

/**
 * PyTorch's max_pool2d on NCHW (aten's max_pool2d_with_indices): taps in row-major order, those
 * outside the input skipped; the first starts as the maximum, a later one replaces it when
 * greater or NaN. The output is the maximum, the gradient goes to its tap.
 */
function pytorchMaxPool(x: Float32Array, [N, C, H, W]: number[], p: { kernel: number[]; stride: number[]; padding: number[]; dilation: number[]; out: number[] }, dy: Float32Array) {
  const [OH, OW] = p.out as [number, number];
  const y = new Float32Array(N * C * OH * OW);
  const dx = new Float32Array(N * C * H * W);
  for (let q = 0; q < N * C; q++)
    for (let i = 0; i < OH; i++)
      for (let j = 0; j < OW; j++) {
        let best = -Infinity;
        let at = -1;
        for (let a = 0; a < p.kernel[0]!; a++)
          for (let b = 0; b < p.kernel[1]!; b++) {
            const ih = i * p.stride[0]! - p.padding[0]! + a * p.dilation[0]!;
            const iw = j * p.stride[1]! - p.padding[1]! + b * p.dilation[1]!;
            if (ih < 0 || ih >= H || iw < 0 || iw >= W) continue;
            const k = (q * H + ih) * W + iw;
            if (at < 0) at = k;
            if (x[k]! > best || Number.isNaN(x[k]!)) [best, at] = [x[k]!, k];
          }
        const o = (q * OH + i) * OW + j;
        y[o] = best;
        if (at >= 0) dx[at] += dy[o]!;
      }
  return { y, dx };
}

describe("max pooling in NCHW (WASM with a SIMD pass for 2x2 / stride 2, and pure JS)", () => {
  const cases = [
    // rows of 13 → 6 windows: four, then the last four again (overlapping); an odd last row and column
    { name: "2x2 stride 2, 13x13", shape: [2, 3, 13, 13], kernel: [2, 2], stride: [2, 2], padding: [0, 0], dilation: [1, 1] },
    { name: "2x2 stride 2, 7x6 (rows of three windows)", shape: [2, 3, 7, 6], kernel: [2, 2], stride: [2, 2], padding: [0, 0], dilation: [1, 1] },
    { name: "2x2 stride 2, 8x16 (SIMD only)", shape: [1, 2, 8, 16], kernel: [2, 2], stride: [2, 2], padding: [0, 0], dilation: [1, 1] },
    { name: "3x3 stride 2 pad 1 (overlapping windows)", shape: [2, 2, 9, 10], kernel: [3, 3], stride: [2, 2], padding: [1, 1], dilation: [1, 1] },
    { name: "3x2 stride (1,2) dilation 2, pad (2,1)", shape: [1, 3, 11, 9], kernel: [3, 2], stride: [1, 2], padding: [2, 1], dilation: [2, 2] },
  ];
  for (const cs of cases) {
    it(`${cs.name}: PyTorch's values and gradient bit for bit, with ties, NaN, -inf and -0`, async () => {
      const [N, C, H, W] = cs.shape as [number, number, number, number];
      const out = [0, 1].map((d) => Math.floor((cs.shape[2 + d]! + 2 * cs.padding[d]! - cs.dilation[d]! * (cs.kernel[d]! - 1) - 1) / cs.stride[d]!) + 1);
      const attrs = { ...cs, out };
      const raw = plain([N, C, H, W], 23).values;
      // coarse values make ties; ReLU-like zeros of both signs; a few NaN and -inf
      const values = raw.map((v, i) => (i % 29 === 0 ? NaN : i % 31 === 0 ? -Infinity : i % 7 === 0 ? (i % 2 ? -0 : 0) : Math.round(v * 2) / 2));
      const x = { shape: cs.shape, values };
      const dy = plain([N, C, out[0]!, out[1]!], 24);
      const expected = pytorchMaxPool(Float32Array.from(values), cs.shape, attrs, Float32Array.from(dy.values));
      for (const backend of ["wasm", "cpu"] as const) {
        const y = await kernel(backend, MAX_POOL_NCHW, { x }, attrs);
        expect(Array.from(y).map((v) => (Object.is(v, -0) ? "-0" : v))).toEqual(Array.from(expected.y).map((v) => (Object.is(v, -0) ? "-0" : v)));
        expect(Array.from(await kernel(backend, MAX_POOL_NCHW_GRAD, { x, dy }, attrs))).toEqual(Array.from(expected.dx));
      }
    });
  }
});

describe("Transpose (WASM): batched 2-D transposes in 4x4 SIMD blocks", () => {
  it("recognises a kept leading run of axes and two swapped blocks after it", () => {
    expect(asBatchedMatrices([2, 3, 4, 5], [0, 2, 3, 1])).toEqual({ batches: 2, rows: 3, cols: 20 });
    expect(asBatchedMatrices([2, 4, 5, 3], [0, 3, 1, 2])).toEqual({ batches: 2, rows: 20, cols: 3 });
    expect(asBatchedMatrices([6, 7], [1, 0])).toEqual({ batches: 1, rows: 6, cols: 7 });
    expect(asBatchedMatrices([2, 3, 4], [0, 2, 1])).toEqual({ batches: 2, rows: 3, cols: 4 });
    expect(asBatchedMatrices([2, 3, 4, 5], [2, 3, 0, 1])).toEqual({ batches: 1, rows: 6, cols: 20 });
    expect(asBatchedMatrices([2, 3, 4, 5], [0, 1, 2, 3])).toBeNull();
    expect(asBatchedMatrices([2, 3, 4, 5], [2, 3, 1, 0])).toBeNull();
    expect(asBatchedMatrices([2, 3, 4, 5], [0, 3, 2, 1])).toBeNull();
  });

  const cases: Array<{ shape: number[]; perm: number[] }> = [
    { shape: [3, 5, 7, 6], perm: [0, 2, 3, 1] }, // NCHW → NHWC, 5 x 42: a block strip and a row after
    { shape: [3, 7, 6, 5], perm: [0, 3, 1, 2] }, // NHWC → NCHW, 42 x 5
    { shape: [9, 13], perm: [1, 0] },
    { shape: [2, 8, 12], perm: [0, 2, 1] }, // blocks only
    { shape: [4, 3, 9], perm: [0, 2, 1] }, // 3 rows: narrower than a block → tfjs
    { shape: [2, 3, 4, 5], perm: [3, 1, 0, 2] }, // not a batched transpose → tfjs
  ];
  for (const { shape, perm } of cases) {
    it(`[${shape}] by [${perm}]: tfjs's own kernel's values, bit for bit (float32 with NaN and -0, int32)`, async () => {
      const size = shape.reduce((a, b) => a * b, 1);
      const floats = Array.from({ length: size }, (_, i) => (i % 11 === 0 ? NaN : i % 13 === 0 ? -0 : (i * 7.25) % 19 - 9));
      const ints = Array.from({ length: size }, (_, i) => ((i * 7919) % 100003) - 50000);
      for (const x of [{ shape, values: floats }, { shape, values: ints, dtype: "int32" as const }]) {
        const ours = await kernel("wasm", "Transpose", { x }, { perm });
        const theirs = await kernel("wasm", "Transpose", { x }, { perm }, true);
        const bits = (a: ArrayLike<number>) => Array.from(new Uint32Array(Float32Array.from(a).buffer));
        expect(x.dtype === "int32" ? Array.from(ours) : bits(ours)).toEqual(x.dtype === "int32" ? Array.from(theirs) : bits(theirs));
      }
    });
  }
});

describe("Sum over leading axes (WASM): one float64 pass", () => {
  it("views a leading reduced run, one kept run and a trailing reduced run as [outer, kept, inner]", () => {
    expect(asOuterKeptInner([2, 3, 4, 5], [0, 2, 3])).toEqual({ outer: 2, kept: 3, inner: 20 });
    expect(asOuterKeptInner([2, 3, 4, 5], [0, 1])).toEqual({ outer: 6, kept: 20, inner: 1 });
    expect(asOuterKeptInner([2, 3, 4, 5], [-4, -1])).toEqual({ outer: 2, kept: 12, inner: 5 });
    expect(asOuterKeptInner([2, 3, 4, 5], [2, 3])).toBeNull(); // trailing only: tfjs sums without a transpose
    expect(asOuterKeptInner([2, 3, 4, 5], [0, 1, 2, 3])).toBeNull();
    expect(asOuterKeptInner([2, 3, 4, 5], [0, 2])).toBeNull(); // two kept runs
  });

  const cases: Array<{ shape: number[]; axis: number[]; keepDims: boolean }> = [
    { shape: [6, 5, 7, 9], axis: [0, 2, 3], keepDims: false }, // a conv bias gradient: runs of 63, a tail of 3
    { shape: [6, 5, 2, 2], axis: [0, 2, 3], keepDims: true }, // runs of 4
    { shape: [7, 3, 3], axis: [0, 2], keepDims: false }, // runs of 3: one value at a time
    { shape: [33, 11], axis: [0], keepDims: false }, // a linear bias gradient: pairs of features and one more
    { shape: [4, 3, 10], axis: [0, 1], keepDims: true },
  ];
  for (const cs of cases) {
    it(`[${cs.shape}] over [${cs.axis}]${cs.keepDims ? " keeping dims" : ""}: the float64 sum rounded once`, async () => {
      const x = plain(cs.shape, 31);
      const values = Float32Array.from(x.values.map((v, i) => v * (1 + (i % 5) * 1000)));
      const ours = await kernel("wasm", "Sum", { x: { shape: cs.shape, values: Array.from(values) } }, { axis: cs.axis, keepDims: cs.keepDims });
      const strides = cs.shape.map((_, i) => cs.shape.slice(i + 1).reduce((a, b) => a * b, 1));
      const keptAxes = cs.shape.map((_, i) => i).filter((i) => !cs.axis.includes(i));
      const kept = keptAxes.reduce((a, i) => a * cs.shape[i]!, 1);
      const exact = new Float64Array(kept);
      for (let flat = 0; flat < values.length; flat++) {
        let o = 0;
        for (const i of keptAxes) o = o * cs.shape[i]! + (Math.floor(flat / strides[i]!) % cs.shape[i]!);
        exact[o] += values[flat]!;
      }
      // within float32's rounding of the exact sum (tfjs's float32 running sums are 100x further off)
      expect(ours.length).toBe(kept);
      for (let i = 0; i < kept; i++) expect(Math.abs(ours[i]! - exact[i]!)).toBeLessThanOrEqual(Math.abs(exact[i]!) * 2 ** -24);
    });
  }

  it("keeps tfjs's kernel for trailing axes and int32, and the output shapes of keepDims", async () => {
    const x = { shape: [3, 4, 5], values: Array.from({ length: 60 }, (_, i) => i - 17), dtype: "int32" as const };
    expect(Array.from(await kernel("wasm", "Sum", { x }, { axis: [0, 2], keepDims: false }))).toEqual(Array.from(await kernel("wasm", "Sum", { x }, { axis: [0, 2], keepDims: false }, true)));
    const f = plain([3, 4, 5], 32);
    expect(Array.from(await kernel("wasm", "Sum", { x: f }, { axis: [2], keepDims: false }))).toEqual(Array.from(await kernel("wasm", "Sum", { x: f }, { axis: [2], keepDims: false }, true)));
    await selectBackend("wasm");
    const t = tf.tensor(f.values, f.shape);
    expect(tf.sum(t, [0, 2], true).shape).toEqual([1, 4, 1]);
    expect(tf.sum(t, [0, 2]).shape).toEqual([4]);
    t.dispose();
  });
});

describe("ReLU's gradient as one kernel (WASM)", () => {
  it("gives tfjs's dy * cast(step(x)) bit for bit (any NaN as one), ±0 and ±inf included, and is what backward uses", async () => {
    await selectBackend("wasm");
    const specials = [NaN, 0, -0, Infinity, -Infinity, 1e-38, -1e-38, 2.5, -2.5];
    const n = 1003; // a tail after the last four
    const xs = Array.from({ length: n }, (_, i) => specials[i % specials.length]!);
    // every (x, dy) pair of specials, dy of both signs
    const dys = Array.from({ length: n }, (_, i) => specials[Math.floor(i / 9) % 9]! * (Math.floor(i / 81) % 2 ? 1 : -1));
    const x = tf.tensor(xs);
    const dy = tf.tensor(dys);
    const bits = (t: tf.Tensor) => Array.from(t.dataSync() as Float32Array, (v) => (Number.isNaN(v) ? "NaN" : new Uint32Array(Float32Array.of(v).buffer)[0]));
    const chain = tf.mul(dy, tf.cast(tf.step(x), "float32"));
    const fused = tf.engine().runKernel(RELU_GRAD, { dy, x }) as tf.Tensor;
    expect(bits(fused)).toEqual(bits(chain));
    const grad = tf.grad((v: tf.Tensor) => tf.relu(v))(x, dy);
    expect(bits(grad)).toEqual(bits(chain));
    const profile = await tf.profile(() => tf.grad((v: tf.Tensor) => tf.relu(v))(x, dy));
    expect(profile.kernelNames).toContain(RELU_GRAD);
    expect(profile.kernelNames).not.toContain("Step");
    tf.dispose([x, dy, chain, fused, grad]);
  });
});

describe("F.linear as one kernel (linear.ts)", () => {
  const bits = (t: tf.Tensor | null) => (t === null ? null : Array.from(new Uint32Array(Float32Array.from(t.dataSync()).buffer)));
  /** F.linear forward and backward; `ops`: with the kernel unregistered, so F.linear takes tfjs's product and add. */
  const run = (ops: boolean, xShape: number[], withBias: boolean, frozenWeight: boolean) => {
    const backend = tf.getBackend();
    const config = tf.getKernel(LINEAR, backend)!;
    if (ops) tf.unregisterKernel(LINEAR, backend);
    try {
      const k = xShape[xShape.length - 1]!;
      const xv = tf.variable(tf.tensor(mixed(xShape, 1).values, xShape));
      const w = tf.variable(tf.tensor(mixed([6, k], 2).values, [6, k]), !frozenWeight);
      const b = tf.variable(tf.tensor(mixed([6], 3).values, [6]));
      // tf.mul(x, 1): an input that is not a leaf, whose gradient flows on to xv.
      const y = F.linear(tf.mul(xv, 1), w, withBias ? b : null);
      const dyWeights = tf.tensor(mixed(y.shape, 4).values, y.shape);
      const loss = tf.sum(tf.mul(y, dyWeights));
      loss.backward();
      const out = { y: bits(y), dx: bits(xv.grad), dw: bits(w.grad), db: withBias ? bits(b.grad) : null };
      tf.dispose([xv, w, b, y, dyWeights, loss]);
      return out;
    } finally {
      if (ops) tf.registerKernel(config);
    }
  };

  for (const backend of ["wasm", "cpu"] as const) {
    it(`${backend}: the product-and-add ops' output and gradients bit for bit, with and without bias, [*, in] inputs, a frozen weight`, async () => {
      await selectBackend(backend);
      for (const [shape, withBias, frozen] of [[[5, 7], true, false], [[2, 3, 7], true, false], [[5, 9], false, false], [[4, 7], true, true]] as const) {
        const fused = run(false, [...shape], withBias, frozen);
        const ops = run(true, [...shape], withBias, frozen);
        expect(fused, `[${shape}] bias ${withBias} frozen ${frozen}`).toEqual(ops);
        expect(fused.dw === null).toBe(frozen);
      }
      const profile = await tf.profile(() => F.linear(tf.ones([2, 3]), tf.ones([4, 3]), tf.ones([4])));
      expect(profile.kernelNames).toEqual([LINEAR]);
    });
  }
});

describe("Identity (WASM) shares its input's data", () => {
  it("a clone reads the input's values, outlives it, and frees the buffer with the last reference", async () => {
    await selectBackend("wasm");
    const buffers = () => tf.backend().numDataIds();
    const before = buffers();
    const x = tf.tensor([1, -2, 3.5, NaN, 5]);
    const copy = tf.clone(x);
    expect(buffers() - before).toBe(1); // one buffer, two tensors
    x.dispose();
    expect(Array.from(copy.dataSync())).toEqual([1, -2, 3.5, NaN, 5]);
    copy.dispose();
    expect(buffers()).toBe(before);
  });
});

describe("UnsortedSegmentSum", () => {
  for (const backend of ["wasm", "cpu"] as const) {
    it(`${backend}: rank-2 ids into rows, out-of-range ids dropped`, async () => {
      const x = plain([2, 3, 4], 16);
      const ids = { shape: [2, 3], values: [0, 4, 4, -1, 2, 5], dtype: "int32" as const };
      const out = await kernel(backend, "UnsortedSegmentSum", { x, segmentIds: ids }, { numSegments: 5 });
      expectClose(out, naive.segmentSum(x.values, ids.values, 5, 4));
    });

    it(`${backend}: the Embedding gradient shape (gather over a 1000-row table)`, async () => {
      const idValues = Array.from({ length: 64 }, (_, i) => (i * 37) % 1000);
      const x = plain([64, 8], 17);
      const ids = { shape: [64], values: idValues, dtype: "int32" as const };
      const out = await kernel(backend, "UnsortedSegmentSum", { x, segmentIds: ids }, { numSegments: 1000 });
      expectClose(out, naive.segmentSum(x.values, idValues, 1000, 8));
    });
  }

  it("keeps int32 data int32 and matches the pure-JS backend's own kernel on float data", async () => {
    const x = { shape: [4, 2], values: [1, 2, 3, 4, 5, 6, 7, 8], dtype: "int32" as const };
    const ids = { shape: [4], values: [1, 0, 1, 1], dtype: "int32" as const };
    await selectBackend("wasm");
    const out = tf.engine().runKernel("UnsortedSegmentSum", {
      x: tf.tensor(x.values, x.shape, "int32"),
      segmentIds: tf.tensor(ids.values, ids.shape, "int32"),
    }, { numSegments: 2 } as never) as tf.Tensor;
    expect(out.dtype).toBe("int32");
    expect(Array.from(out.dataSync())).toEqual([3, 4, 13, 16]);
    const f = plain([4, 3], 18);
    const reference = await kernel("cpu", "UnsortedSegmentSum", { x: f, segmentIds: ids }, { numSegments: 3 }, true);
    expectClose(await kernel("wasm", "UnsortedSegmentSum", { x: f, segmentIds: ids }, { numSegments: 3 }), reference);
  });
});

/** A·B in float64, on row-major [batch, rows, cols] values, each operand optionally transposed. */
function textbookMatMul(a: Plain, b: Plain, transposeA: boolean, transposeB: boolean): number[] {
  const [batch, ar, ac] = a.shape.length === 3 ? a.shape : [1, ...a.shape];
  const [, br, bc] = b.shape.length === 3 ? b.shape : [1, ...b.shape];
  const [m, k] = transposeA ? [ac!, ar!] : [ar!, ac!];
  const n = transposeB ? br! : bc!;
  const at = (i: number, r: number, c: number) => a.values[i * ar! * ac! + (transposeA ? c * ac! + r : r * ac! + c)]!;
  const bt = (i: number, r: number, c: number) => b.values[i * br! * bc! + (transposeB ? c * bc! + r : r * bc! + c)]!;
  const out: number[] = [];
  for (let i = 0; i < batch!; i++)
    for (let r = 0; r < m; r++)
      for (let c = 0; c < n; c++) {
        let sum = 0;
        for (let j = 0; j < k; j++) sum += at(i, r, j) * bt(i, j, c);
        out.push(sum);
      }
  return out;
}

describe("BatchMatMul (WASM): a transposed operand is transposed first, then multiplied", () => {
  const shapes: [string, number[], number[], boolean, boolean][] = [
    ["a·b", [5, 7], [7, 3], false, false],
    ["a·bᵀ (nn.Linear's forward)", [5, 7], [3, 7], false, true],
    ["a·bᵀ with more rows in b than in a (computed as (b·aᵀ)ᵀ)", [6, 40], [32, 40], false, true],
    ["aᵀ·b (a weight gradient)", [7, 5], [7, 3], true, false],
    ["aᵀ·bᵀ", [7, 5], [3, 7], true, true],
    ["batched a·bᵀ", [2, 4, 6], [2, 3, 6], false, true],
    ["batched aᵀ·b", [2, 6, 4], [2, 6, 3], true, false],
  ];
  for (const [name, sa, sb, ta, tb] of shapes) {
    it(`${name}: equals the textbook product and tfjs's own kernel`, async () => {
      const a = plain(sa, 21);
      const b = plain(sb, 22);
      const attrs = { transposeA: ta, transposeB: tb };
      const ours = await kernel("wasm", "BatchMatMul", { a, b }, attrs);
      expectClose(ours, textbookMatMul(a, b, ta, tb));
      expectClose(ours, await kernel("wasm", "BatchMatMul", { a, b }, attrs, true));
    });
  }
});

describe("GatherV2 as contiguous copies", () => {
  const cases: Array<{ name: string; shape: number[]; indices: { shape: number[]; values: number[] }; axis: number; batchDims?: number }> = [
    { name: "one time step of [35, 20, 256]", shape: [35, 20, 256], indices: { shape: [], values: [7] }, axis: 0 },
    { name: "700 Embedding rows of 64", shape: [1000, 64], indices: { shape: [35, 20], values: Array.from({ length: 700 }, (_, i) => (i * 7919) % 1000) }, axis: 0 },
    { name: "a middle axis, repeated indices", shape: [4, 5, 6], indices: { shape: [4], values: [2, 0, 4, 4] }, axis: 1 },
    { name: "the last axis (slices of one element)", shape: [3, 4, 5], indices: { shape: [2], values: [4, 1] }, axis: 2 },
    { name: "batchDims 1", shape: [2, 5, 3, 20], indices: { shape: [2, 2], values: [0, 4, 1, 1] }, axis: 1, batchDims: 1 },
    { name: "batchDims 1 with outer axes", shape: [2, 3, 5, 4], indices: { shape: [2, 3], values: [4, 0, 2, 1, 1, 3] }, axis: 2, batchDims: 1 },
  ];
  for (const backend of ["wasm", "cpu"] as const) {
    for (const cs of cases) {
      // The reference is the pure-JS backend's own kernel: WASM's reads the wrong rows when
      // batchDims > 0 and axes lie between the batch and the gathered axis (the last case).
      it(`${backend}: ${cs.name}: the pure-JS backend's own kernel's shape and values, bit for bit (float32 with NaN and -0, int32)`, async () => {
        const size = cs.shape.reduce((a, b) => a * b, 1);
        const floats = Array.from({ length: size }, (_, i) => (i % 11 === 0 ? NaN : i % 13 === 0 ? -0 : (i * 7.25) % 19 - 9));
        const ints = Array.from({ length: size }, (_, i) => ((i * 7919) % 100003) - 50000);
        for (const [values, dtype] of [[floats, "float32"], [ints, "int32"]] as const) {
          const run = () => {
            const x = tf.tensor(values, cs.shape, dtype);
            const indices = tf.tensor(cs.indices.values, cs.indices.shape, "int32");
            const out = tf.engine().runKernel("GatherV2", { x, indices }, { axis: cs.axis, batchDims: cs.batchDims ?? 0 } as never) as tf.Tensor;
            const result = { shape: out.shape, bits: Array.from(new Uint32Array(Float32Array.from(out.dataSync()).buffer)) };
            tf.dispose([x, indices, out]);
            return result;
          };
          await selectBackend(backend);
          const ours = run();
          expect(ours.bits.length).toBeGreaterThan(0);
          await selectBackend("cpu");
          expect(ours).toEqual(withOriginalKernels("cpu", run));
        }
      });
    }

    it(`${backend}: an index out of range gives tfjs's message and frees what the kernel made`, async () => {
      await selectBackend(backend);
      const x = tf.tensor(mixed([6, 4], 1).values, [6, 4]);
      for (const bad of [6, -1]) {
        const indices = tf.tensor1d([0, bad], "int32");
        const dataIds = tf.backend().numDataIds();
        expect(() => tf.engine().runKernel("GatherV2", { x, indices }, { axis: 0, batchDims: 0 } as never)).toThrow(
          `GatherV2: the index value ${bad} is not in [0, 5]`,
        );
        expect(tf.backend().numDataIds()).toBe(dataIds);
        indices.dispose();
      }
      x.dispose();
    });
  }
});

describe("Slice and SplitV (WASM) as copies straight out of the heap", () => {
  // (no scalar: tf.slice refuses one before any kernel runs)
  const sliceCases: Array<{ name: string; shape: number[]; begin: number[]; size: number[] }> = [
    { name: "a batch of rows of a dataset", shape: [50, 12], begin: [17, 0], size: [8, 12] },
    { name: "a column block (an LSTM gate)", shape: [20, 64], begin: [0, 16], size: [20, 16] },
    { name: "a time step of [35, 20, 24]", shape: [35, 20, 24], begin: [7, 0, 0], size: [1, 20, 24] },
    { name: "a middle axis in part, size -1", shape: [3, 9, 20], begin: [1, 2, 0], size: [-1, 5, -1] },
    { name: "every axis in part, short runs", shape: [4, 5, 6, 7], begin: [1, 0, 2, 3], size: [2, 5, 3, 4] },
    { name: "rank 5 (tfjs's generic path)", shape: [2, 3, 4, 5, 6], begin: [1, 1, 0, 2, 1], size: [1, 2, 4, 2, 5] },
    { name: "the whole tensor", shape: [6, 7], begin: [0, 0], size: [6, 7] },
    { name: "nothing", shape: [6, 7], begin: [2, 0], size: [0, 7] },
  ];
  const splitCases: Array<{ name: string; shape: number[]; split: number | number[]; axis: number }> = [
    { name: "LSTM gates in four", shape: [20, 64], split: 4, axis: 1 },
    { name: "sizes with -1 on a middle axis", shape: [3, 10, 5], split: [2, -1, 3], axis: 1 },
    { name: "the first axis, a negative axis number", shape: [6, 4, 3], split: [1, 5], axis: -3 },
    { name: "the last axis, parts of one element", shape: [4, 3], split: 3, axis: -1 },
  ];
  const floats = (n: number) => Array.from({ length: n }, (_, i) => (i % 11 === 0 ? NaN : i % 13 === 0 ? -0 : (i * 7.25) % 19 - 9));
  const ints = (n: number) => Array.from({ length: n }, (_, i) => ((i * 7919) % 100003) - 50000);
  const bits = (t: tf.Tensor) => ({ shape: t.shape, dtype: t.dtype, bits: Array.from(new Uint32Array(Float32Array.from(t.dataSync()).buffer)) });
  /** Runs `kernel` on a float32, an int32 and a bool tensor of `shape`: each output's shape, dtype and bits. */
  const runOn = (shape: number[], kernel: (x: tf.Tensor) => tf.Tensor | tf.Tensor[]) => () => {
    const n = shape.reduce((a, b) => a * b, 1);
    return [tf.tensor(floats(n), shape), tf.tensor(ints(n), shape, "int32"), tf.tensor(ints(n).map((v) => v % 3 === 0), shape, "bool")].map((x) => {
      const out = kernel(x);
      const result = (Array.isArray(out) ? out : [out]).map(bits);
      tf.dispose([x, out as tf.Tensor]);
      return result;
    });
  };

  for (const cs of sliceCases) {
    it(`${cs.name}: tfjs's own WASM and pure-JS kernels' shape and values, bit for bit (float32 with NaN and -0, int32, bool)`, async () => {
      const run = runOn(cs.shape, (x) => tf.engine().runKernel("Slice", { x }, { begin: cs.begin, size: cs.size } as never) as tf.Tensor);
      await selectBackend("wasm");
      const ours = run();
      expect(ours[0]!.length).toBe(1);
      expect(ours).toEqual(withOriginalKernels("wasm", run));
      await selectBackend("cpu");
      expect(ours).toEqual(run());
    });
  }
  for (const cs of splitCases) {
    it(`SplitV, ${cs.name}: tfjs's own WASM and pure-JS kernels' parts, bit for bit (float32, int32, bool)`, async () => {
      const run = runOn(cs.shape, (x) => tf.engine().runKernel("SplitV", { x }, { numOrSizeSplits: cs.split, axis: cs.axis } as never) as tf.Tensor[]);
      await selectBackend("wasm");
      const ours = run();
      expect(ours[0]!.length).toBeGreaterThan(1);
      expect(ours).toEqual(withOriginalKernels("wasm", run));
      await selectBackend("cpu");
      expect(ours).toEqual(run());
    });
  }

  it("copyBox between two arrays (no shared heap): each box's elements in order, as an index-by-index copy", () => {
    for (const cs of sliceCases.filter((c) => !c.size.includes(-1))) {
      const n = cs.shape.reduce((a, b) => a * b, 1);
      const src = Float32Array.from({ length: n }, (_, i) => i);
      const dst = new Float32Array(cs.size.reduce((a, b) => a * b, 1));
      copyBox(src, cs.shape, cs.begin, cs.size, dst);
      // the reference: every coordinate of the box, the last axis fastest
      const expected: number[] = [];
      const walk = (axis: number, offset: number) => {
        if (axis === cs.shape.length) return void expected.push(offset);
        const stride = cs.shape.slice(axis + 1).reduce((a, b) => a * b, 1);
        for (let i = cs.begin[axis]!; i < cs.begin[axis]! + cs.size[axis]!; i++) walk(axis + 1, offset + i * stride);
      };
      walk(0, 0);
      expect(Array.from(dst), cs.name).toEqual(expected);
    }
  });

  it("registered for WASM; a split and slices with their gradients give tfjs's kernels' bits", async () => {
    await selectBackend("wasm");
    const x = tf.tensor(floats(20 * 64).map((v) => (Number.isNaN(v) ? 1 : v)), [20, 64]);
    const weights = tf.tensor(floats(20 * 64).map((v, i) => (Number.isNaN(v) ? i % 5 : v)), [20, 64]);
    const f = (t: tf.Tensor) => tf.addN(tf.split(t, 4, 1).map((part, i) => tf.sum(tf.mul(part, tf.slice(weights, [0, 16 * i], [20, 16])))));
    const v = tf.variable(x, true, "splitInput");
    const run = () => {
      const { value, grads } = tf.variableGrads(() => f(v) as tf.Scalar, [v]);
      const result = [bits(value), bits(grads.splitInput!)];
      tf.dispose([value, ...Object.values(grads)]);
      return result;
    };
    expect(installedKernelShims()).toEqual(expect.arrayContaining(["wasm/Slice", "wasm/SplitV"]));
    expect(run()).toEqual(withOriginalKernels("wasm", run));
    tf.dispose([x, weights, v]);
  });
});

describe("Concat and Pack (WASM): each input's rows copied into place", () => {
  const floats = (n: number, seed: number) => Array.from({ length: n }, (_, i) => (i % 11 === 0 ? NaN : i % 13 === 0 ? -0 : ((i + seed) * 7.25) % 19 - 9));
  const bits = (t: tf.Tensor) => ({ shape: t.shape, dtype: t.dtype, bits: Array.from(new Uint32Array(Float32Array.from(t.dataSync()).buffer)) });
  /** Runs `kernel` on float32, int32 and bool inputs of `shapes`: the output's shape, dtype and bits for each. */
  const runOn = (shapes: number[][], kernel: (xs: tf.Tensor[]) => tf.Tensor) => () =>
    (["float32", "int32", "bool"] as const).map((dtype) => {
      const xs = shapes.map((shape, k) => {
        const values = floats(shape.reduce((a, b) => a * b, 1), 3 * k);
        return dtype === "float32" ? tf.tensor(values, shape) : tf.tensor(values.map((v) => (Number.isNaN(v) ? 7 : Math.round(v * 4))), shape, dtype);
      });
      const out = kernel(xs);
      const result = bits(out);
      tf.dispose([...xs, out]);
      return result;
    });
  const concatCases: Array<{ name: string; shapes: number[][]; axis: number }> = [
    { name: "359 pairs (transformer_tutorial's batchify)", shapes: Array.from({ length: 359 }, () => [2]), axis: 0 },
    { name: "rows of different widths on the last axis", shapes: [[5, 3], [5, 17], [5, 1]], axis: 1 },
    { name: "a middle axis, a negative axis number", shapes: [[2, 3, 20], [2, 1, 20], [2, 4, 20]], axis: -2 },
    { name: "an empty input among them", shapes: [[3, 4], [0, 4], [2, 4]], axis: 0 },
    { name: "one input", shapes: [[4, 6]], axis: 1 },
  ];
  const packCases: Array<{ name: string; shapes: number[][]; axis: number }> = [
    { name: "sin and cos on a new last axis (a positional encoding)", shapes: [[50, 16], [50, 16]], axis: 2 },
    { name: "RNN steps on a new first axis", shapes: Array.from({ length: 9 }, () => [4, 32]), axis: 0 },
    { name: "a middle axis, a negative axis number", shapes: [[3, 5], [3, 5], [3, 5]], axis: -2 },
    { name: "scalars", shapes: Array.from({ length: 27 }, () => []), axis: 0 },
    { name: "one input", shapes: [[4, 6]], axis: 1 },
  ];
  for (const [kernelName, cases] of [["Concat", concatCases], ["Pack", packCases]] as const) {
    for (const cs of cases) {
      it(`${kernelName}, ${cs.name}: tfjs's own WASM and pure-JS kernels' shape and values, bit for bit (float32 with NaN and -0, int32, bool)`, async () => {
        const run = runOn(cs.shapes, (xs) => tf.engine().runKernel(kernelName, xs as never, { axis: cs.axis } as never) as tf.Tensor);
        await selectBackend("wasm");
        const ours = run();
        expect(ours[0]!.bits.length).toBeGreaterThan(0);
        expect(ours).toEqual(withOriginalKernels("wasm", run));
        await selectBackend("cpu");
        expect(ours).toEqual(run());
      });
    }
  }

  it("Pack: inputs of different shapes get tfjs's message and leave nothing allocated", async () => {
    await selectBackend("wasm");
    const xs = [tf.zeros([2, 3]), tf.zeros([3, 2])];
    const dataIds = tf.backend().numDataIds();
    expect(() => tf.engine().runKernel("Pack", xs as never, { axis: 0 } as never)).toThrow("All tensors passed to stack must have matching shapes");
    expect(tf.backend().numDataIds()).toBe(dataIds);
    tf.dispose(xs);
  });
});

describe("Tile as block copies (WASM and pure JS)", () => {
  const cases: Array<{ name: string; shape: number[]; reps: number[] }> = [
    { name: "a causal mask [1, 1, T, T] to [B, heads, T, T]", shape: [1, 1, 6, 6], reps: [3, 4, 1, 1] },
    { name: "a column to many columns (short rows, many repeats)", shape: [7, 1], reps: [1, 40] },
    { name: "every axis repeated", shape: [2, 3, 17], reps: [2, 3, 2] },
    { name: "one axis", shape: [20], reps: [3] },
    { name: "nothing repeated", shape: [3, 5], reps: [1, 1] },
    { name: "rank 5", shape: [2, 1, 3, 2, 2], reps: [1, 3, 1, 2, 5] },
    { name: "an empty axis", shape: [0, 4], reps: [3, 2] },
    { name: "no repeat of an axis (reps 0)", shape: [2, 4], reps: [0, 2] },
    { name: "a scalar", shape: [], reps: [] },
  ];
  const values = (n: number) => Array.from({ length: n }, (_, i) => (i % 11 === 0 ? NaN : i % 13 === 0 ? -0 : (i * 7.25) % 19 - 9));
  for (const backend of ["wasm", "cpu"] as const) {
    for (const cs of cases) {
      it(`${backend}: ${cs.name}: tfjs's own kernels' shape and values, bit for bit (float32 with NaN and -0, int32, bool)`, async () => {
        const n = cs.shape.reduce((a, b) => a * b, 1);
        const run = () =>
          (["float32", "int32", "bool"] as const).map((dtype) => {
            const v = values(n);
            const x = dtype === "float32" ? tf.tensor(v, cs.shape) : tf.tensor(v.map((e) => (Number.isNaN(e) ? 3 : Math.round(e))), cs.shape, dtype);
            const out = tf.engine().runKernel("Tile", { x }, { reps: cs.reps } as never) as tf.Tensor;
            const result = { shape: out.shape, dtype: out.dtype, bits: Array.from(new Uint32Array(Float32Array.from(out.dataSync()).buffer)) };
            tf.dispose([x, out]);
            return result;
          });
        await selectBackend(backend);
        const ours = run();
        expect(ours[0]!.shape).toEqual(cs.shape.map((s, a) => s * cs.reps[a]!));
        expect(ours).toEqual(withOriginalKernels(backend, run));
        if (backend === "wasm") {
          await selectBackend("cpu");
          expect(ours).toEqual(withOriginalKernels("cpu", run));
        }
      });
    }
  }
});

describe("Pow with PyTorch's special exponents (WASM and pure JS)", () => {
  // PyTorch's CPU pow for a scalar exponent (ATen's pow_tensor_scalar_optimized_kernel), in
  // float32: 2 → x·x, 3 → x·x·x, 0.5 → sqrt, -1 → 1/x, -2 → 1/(x·x), -0.5 → 1/sqrt. (Against
  // PyTorch itself: pow_pytorch.slow.test.ts.)
  const f = Math.fround;
  const pytorch: Array<[number, (x: number) => number]> = [
    [2, (x) => f(x * x)],
    [3, (x) => f(f(x * x) * x)],
    [0.5, (x) => f(Math.sqrt(x))],
    [-1, (x) => f(1 / x)],
    [-2, (x) => f(1 / f(x * x))],
    [-0.5, (x) => f(1 / f(Math.sqrt(x)))],
  ];
  const x = Float32Array.from([...Array.from({ length: 3000 }, (_, i) => ((i * 0.618034) % 1) * 20 - 10), 0, -0, Infinity, -Infinity, NaN, 1e-30, 3e12, -7.5]);
  const bitsOf = (v: ArrayLike<number>) => Array.from(new Uint32Array(Float32Array.from(v).buffer), (u) => ((u & 0x7f800000) === 0x7f800000 && u & 0x7fffff ? 0x7fc00000 : u));
  for (const backend of ["wasm", "cpu"] as const) {
    it(`${backend}: each special exponent gives PyTorch's formula's bits, ±0, ±inf and NaN included, within one ulp of tfjs's pow`, async () => {
      await selectBackend(backend);
      const xt = tf.tensor(x);
      for (const [e, formula] of pytorch) {
        const ours = tf.pow(xt, e);
        expect(bitsOf(ours.dataSync()), `x ** ${e}`).toEqual(bitsOf(Array.from(x, formula)));
        const theirs = withOriginalKernels(backend, () => tf.pow(xt, e));
        const a = ours.dataSync();
        const b = theirs.dataSync();
        for (let i = 0; i < a.length; i++) {
          if (Number.isFinite(b[i]!) && b[i] !== 0) expect(Math.abs(a[i]! - b[i]!), `x ** ${e} at ${x[i]}`).toBeLessThanOrEqual(Math.abs(b[i]!) * 2 ** -23);
        }
        tf.dispose([ours, theirs]);
      }
      xt.dispose();
    });

    it(`${backend}: other exponents, a tensor of exponents and int32 go to tfjs's kernel (its bits)`, async () => {
      await selectBackend(backend);
      const xt = tf.tensor(x.subarray(0, 100));
      const ints = tf.tensor([1, 2, -3, 4], [4], "int32");
      const runs = () => [tf.pow(xt, 1.5), tf.pow(xt, 4), tf.pow(xt, tf.fill([100], 3)), tf.pow(ints, tf.scalar(3, "int32"))].map((t) => bitsOf(t.dataSync()));
      expect(runs()).toEqual(withOriginalKernels(backend, runs));
      tf.dispose([xt, ints]);
    });
  }
});

describe("memory", () => {
  const shared: Array<[string, Record<string, Plain>, Record<string, unknown>]> = [
    ["Conv2DBackpropFilter", { x: plain([2, 6, 6, 3], 1), dy: plain([2, 6, 6, 4], 2) }, { strides: 1, pad: "same", dataFormat: "NHWC", filterShape: [3, 3, 3, 4] }],
    ["Conv2DBackpropFilter", { x: toNCHW(plain([2, 6, 6, 3], 1)), dy: toNCHW(plain([2, 3, 3, 4], 2)) }, { strides: 2, pad: "same", dataFormat: "NCHW", filterShape: [3, 3, 3, 4] }],
    ["Conv2DBackpropInput", { dy: toNCHW(plain([2, 3, 3, 4], 2)), filter: plain([3, 3, 3, 4], 3) }, { strides: 2, pad: "same", dataFormat: "NCHW", inputShape: [2, 3, 6, 6] }],
    ["DepthwiseConv2dNativeBackpropFilter", { x: plain([2, 5, 5, 3], 1), dy: plain([2, 5, 5, 6], 2) }, { strides: 1, pad: "same", dilations: 1, filterShape: [3, 3, 3, 2] }],
    ["DepthwiseConv2dNativeBackpropInput", { dy: plain([2, 5, 5, 6], 2), filter: plain([3, 3, 3, 2], 3) }, { strides: 1, pad: "same", dilations: 1, inputShape: [2, 5, 5, 3] }],
    ["MaxPoolGrad", { dy: plain([1, 2, 2, 3], 1), input: plain([1, 4, 4, 3], 2), output: plain([1, 2, 2, 3], 3) }, { filterSize: 2, strides: 2, pad: "valid" }],
    ["UnsortedSegmentSum", { x: plain([4, 3], 1), segmentIds: { shape: [4], values: [0, 2, 2, 1], dtype: "int32" } }, { numSegments: 3 }],
    ["BatchMatMul", { a: plain([2, 3, 4], 1), b: plain([2, 5, 4], 2) }, { transposeA: false, transposeB: true }],
    ["BatchMatMul", { a: plain([4, 3], 1), b: plain([4, 5], 2) }, { transposeA: true, transposeB: false }],
    [LINEAR, { x: plain([5, 7], 1), weight: plain([3, 7], 2), bias: plain([3], 3) }, {}],
    ["GatherV2", { x: plain([6, 20], 1), indices: { shape: [3], values: [5, 0, 5], dtype: "int32" } }, { axis: 0, batchDims: 0 }],
    ["Slice", { x: plain([6, 20], 1) }, { begin: [1, 4], size: [3, 16] }],
    ["SplitV", { x: plain([6, 20], 1) }, { numOrSizeSplits: [3, 17], axis: 1 }],
    ["Concat", { 0: plain([6, 20], 1), 1: plain([6, 3], 2) }, { axis: 1 }],
    ["Pack", { 0: plain([6, 20], 1), 1: plain([6, 20], 2) }, { axis: 1 }],
    ["Tile", { x: plain([1, 3, 20], 1) }, { reps: [4, 2, 1] }],
    ["Pow", { a: plain([6, 20], 1), b: { shape: [], values: [3] } }, {}],
  ];

  // Conv2D is a shim on the pure-JS backend only (WASM's own has no NCHW).
  const cpuOnly: typeof shared = [
    ["Conv2D", { x: toNCHW(plain([2, 6, 6, 3], 1)), filter: plain([3, 3, 3, 4], 3) }, { strides: 2, pad: "same", dataFormat: "NCHW", dilations: 1 }],
  ];

  for (const backend of ["wasm", "cpu"] as const) {
    it(`${backend}: repeated shim calls leave tensors and backend data ids unchanged`, async () => {
      await selectBackend(backend);
      const runs = backend === "cpu" ? [...shared, ...cpuOnly] : shared;
      const inputs = runs.map(([, ins]) => Object.fromEntries(Object.entries(ins).map(([k, v]) => [k, tf.tensor(v.values, v.shape, v.dtype ?? "float32")])));
      // (Concat and Pack take a list of inputs)
      const listed = (name: string, ins: Record<string, tf.Tensor>) => (name === "Concat" || name === "Pack" ? (Object.values(ins) as never) : ins);
      const once = () => runs.forEach(([name, , attrs], i) => tf.dispose(tf.engine().runKernel(name, listed(name, inputs[i]!), attrs as never) as tf.Tensor | tf.Tensor[]));
      once();
      patchMatrixLimit.elements = 40; // the chunked paths allocate and free per chunk
      once();
      const tensors = tf.memory().numTensors;
      const dataIds = tf.backend().numDataIds();
      for (let i = 0; i < 5; i++) once();
      patchMatrixLimit.elements = defaultLimit;
      for (let i = 0; i < 5; i++) once();
      expect(tf.memory().numTensors).toBe(tensors);
      expect(tf.backend().numDataIds()).toBe(dataIds);
      inputs.forEach((ins) => tf.dispose(Object.values(ins)));
    });
  }

  it("wasm: a shim that throws midway frees what it had allocated", async () => {
    await selectBackend("wasm");
    // dy's spatial size does not match the geometry: the reshape after the NCHW transposes fails.
    const x = tf.tensor(mixed([2, 3, 6, 6], 1).values, [2, 3, 6, 6]);
    const dy = tf.tensor(mixed([2, 4, 5, 5], 2).values, [2, 4, 5, 5]);
    const dataIds = tf.backend().numDataIds();
    expect(() =>
      tf.engine().runKernel("Conv2DBackpropFilter", { x, dy }, { strides: 1, pad: "same", dataFormat: "NCHW", filterShape: [3, 3, 3, 4] } as never),
    ).toThrow(/shape/);
    expect(tf.backend().numDataIds()).toBe(dataIds);
    tf.dispose([x, dy]);
  });
});

describe("cross-entropy's exponentials (WebAssembly SIMD on WASM, the same operations in JS elsewhere)", () => {
  const f64 = new Float64Array(1);
  const bits = new BigInt64Array(f64.buffer);
  const ulps = (a: number, b: number) => {
    f64[0] = a;
    const x = bits[0]!;
    f64[0] = b;
    const d = x - bits[0]!;
    return Number(d < 0n ? -d : d);
  };

  it("each term is within 2 float64 ulps of Math.exp over [-708, 0], 0 below, NaN for NaN", () => {
    let worst = 0;
    for (let i = 0; i <= 200_000; i++) {
      const x = -708 * (i / 200_000) ** 2;
      worst = Math.max(worst, ulps(expNonPositive(x), Math.exp(x)));
    }
    expect(worst).toBeLessThanOrEqual(2);
    expect([expNonPositive(0), expNonPositive(-0), expNonPositive(-Infinity), expNonPositive(-709), expNonPositive(-745)]).toEqual([1, 1, 0, 0, 0]);
    expect(expNonPositive(NaN)).toBeNaN();
  });

  it("WASM's terms, sums and row maxima are the JS functions' bit for bit (4,099 values in [-800, 0], -inf, NaN)", async () => {
    await selectBackend("wasm");
    const c = 4099;
    // A third of the values over [-800, 0], the rest over [-8, 0] (terms that all count in the sums).
    const values = Float32Array.from({ length: c }, (_, k) => (k === 7 ? -Infinity : k === 8 ? NaN : -(k % 3 === 0 ? 800 : 8) * ((k * 0.618034) % 1)));
    const x = tf.tensor1d(values);
    const e = tf.zeros([2 * c]);
    const backend = tf.backend() as unknown as { typedArrayFromHeap(t: tf.Tensor): Float32Array };
    const xs = backend.typedArrayFromHeap(x);
    const es = backend.typedArrayFromHeap(e);
    const simd = crossEntropySimd.exportsFor(xs, es)!;
    expect(simd).not.toBeNull();
    const finite = values.filter((v) => !Number.isNaN(v));
    expect(simd.rowMax(xs.byteOffset, c)).toBeNaN();
    expect(simd.rowMax(xs.byteOffset, 7)).toBe(Math.max(...finite.slice(0, 7)));
    for (const m of [0, 0.25]) {
      const viaWasm = simd.expSum(xs.byteOffset, c, m, es.byteOffset);
      const wasmTerms = Array.from(new Float64Array(es.buffer, es.byteOffset, c));
      const jsTerms = new Float64Array(c);
      const viaJs = expSum(values, 0, c, m, jsTerms);
      expect(Object.is(viaWasm, viaJs)).toBe(true);
      const jsBits = Array.from(jsTerms, (v) => (Number.isNaN(v) ? "NaN" : v));
      expect(wasmTerms.map((v) => (Number.isNaN(v) ? "NaN" : v))).toEqual(jsBits);
    }
    // Without the NaN: finite sums, each the same (64 rows and shifts, where the order of the
    // partial sums shows in the last bit).
    for (let i = 0; i < 64; i++) {
      const [from, m] = [9 + i, i / 16];
      expect(Object.is(simd.expSum(xs.byteOffset + 4 * from, c - from, m, 0), expSum(values, from, c - from, m, null))).toBe(true);
    }
    tf.dispose([x, e]);
  });

  for (const c of [1, 5, 7, 8, 33]) {
    it(`[9, ${c}]: the same loss and gradient bits on WASM as on the pure-JS backend, within float32 of Math.exp's`, async () => {
      const n = 9;
      const target = { shape: [n], values: Array.from({ length: n }, (_, i) => (i === 4 ? -100 : (i * 5) % c)), dtype: "int32" as const };
      // Large logits, and a masked one (-inf) in every other row that has a second class.
      const values = mixed([n, c], c).values.map((v, i) =>
        c > 1 && Math.floor(i / c) % 2 === 0 && i % c === ((Math.floor(i / c) * 5) % c + 1) % c ? -Infinity : 40 * v,
      );
      const logits = { shape: [n, c], values };
      const attrs = { ignoreIndex: -100, reduction: "mean" };
      const dy = { shape: [], values: [0.5] };
      const wasm = [await kernel("wasm", CROSS_ENTROPY, { logits, target }, attrs), await kernel("wasm", CROSS_ENTROPY_GRAD, { dy, logits, target }, attrs)];
      const cpu = [await kernel("cpu", CROSS_ENTROPY, { logits, target }, attrs), await kernel("cpu", CROSS_ENTROPY_GRAD, { dy, logits, target }, attrs)];
      const asBits = (a: Float32Array) => Array.from(new Uint32Array(Float32Array.from(a).buffer));
      expect(asBits(wasm[0]!)).toEqual(asBits(cpu[0]!));
      expect(asBits(wasm[1]!)).toEqual(asBits(cpu[1]!));
      // float64 reference with Math.exp
      let total = 0;
      let counted = 0;
      const dx = new Float64Array(n * c);
      const rows = target.values.map((t, i) => ({ t, row: values.slice(i * c, (i + 1) * c).map((v) => Math.fround(v)) }));
      for (const { t, row } of rows) if (t !== -100) counted++;
      rows.forEach(({ t, row }, i) => {
        if (t === -100) return;
        const m = Math.max(...row);
        const s = row.reduce((a, v) => a + Math.exp(v - m), 0);
        total += m + Math.log(s) - row[t]!;
        row.forEach((v, k) => (dx[i * c + k] = ((Math.exp(v - m) / s - (k === t ? 1 : 0)) * 0.5) / counted));
      });
      expect(Math.abs(wasm[0]![0]! - total / counted)).toBeLessThanOrEqual(1e-6 * Math.abs(total / counted));
      expect(maxAbs(wasm[1]!.map((v, i) => v - dx[i]!))).toBeLessThanOrEqual(1e-7);
    });
  }
});

describe("F.logSoftmax as one kernel (log_softmax.ts)", () => {
  // Rows: ordinary, -inf among finite values (a mask), a wide spread (terms that underflow), and
  // 1,037 columns (the SIMD pass's odd tail); the last dim and a middle one (transposed around).
  const rows = (c: number, n: number) =>
    Float32Array.from({ length: n * c }, (_, k) => (k % 97 === 5 ? -Infinity : k % 5 === 0 ? -900 * ((k * 0.381966) % 1) : 12 * ((k * 0.618034) % 1) - 6));
  const shapes: number[][] = [[3, 7], [5, 1037], [2, 3, 16], [4, 1]];
  const exactRow = (x: Float32Array, from: number, c: number) => {
    let m = -Infinity;
    for (let k = 0; k < c; k++) m = Math.max(m, x[from + k]!);
    let s = 0;
    for (let k = 0; k < c; k++) s += Math.exp(x[from + k]! - m);
    return Array.from(x.subarray(from, from + c), (v) => v - m - Math.log(s));
  };
  const ulp = (v: number) => (v === 0 ? 2 ** -149 : 2 ** (Math.floor(Math.log2(Math.abs(v))) - 23));

  for (const shape of shapes) {
    it(`[${shape}]: each output within one float32 ulp of the float64 log-softmax; WASM gives the pure-JS backend's bits, forward and gradient`, async () => {
      const c = shape[shape.length - 1]!;
      const n = shape.reduce((a, b) => a * b, 1) / c;
      const x = rows(c, n);
      const dyValues = Float32Array.from({ length: n * c }, (_, k) => Math.sin(k * 1.7) * 2);
      const run = () => {
        const xt = tf.tensor(x, shape);
        const dy = tf.tensor(dyValues, shape);
        const { value, grads } = tf.variableGrads(() => tf.sum(tf.mul(F.logSoftmax(v, -1), dy)) as tf.Scalar, [v]);
        const y = F.logSoftmax(xt, -1);
        const result = { y: Array.from(y.dataSync()), dx: Array.from(grads[v.name]!.dataSync()) };
        tf.dispose([xt, dy, value, y, ...Object.values(grads)]);
        return result;
      };
      let v: tf.Variable;
      const results = [];
      for (const backend of ["wasm", "cpu"] as const) {
        await selectBackend(backend);
        expect(installedKernelShims()).toContain(`${backend}/LightningTsLogSoftmax`);
        v = tf.variable(tf.tensor(x.map((e) => (e === -Infinity ? -50 : e)), shape));
        results.push(run());
        v.dispose();
      }
      expect(results[0]).toEqual(results[1]);
      const { y, dx } = results[0]!;
      const xs = x.map((e) => (e === -Infinity ? -50 : e));
      for (let i = 0; i < n; i++) {
        const exactY = exactRow(x, i * c, c);
        const exactG = exactRow(xs, i * c, c);
        let sum = 0;
        for (let k = 0; k < c; k++) sum += dyValues[i * c + k]!;
        for (let k = 0; k < c; k++) {
          const e = exactY[k]!;
          if (e === -Infinity) expect(y[i * c + k]).toBe(-Infinity);
          else expect(Math.abs(y[i * c + k]! - e), `y[${i}, ${k}]`).toBeLessThanOrEqual(ulp(e));
          const g = dyValues[i * c + k]! - Math.exp(exactG[k]!) * sum;
          expect(Math.abs(dx[i * c + k]! - g), `dx[${i}, ${k}]`).toBeLessThanOrEqual(4 * ulp(Math.abs(dyValues[i * c + k]!) + Math.abs(sum)));
        }
      }
    });
  }

  it("a middle dim, a NaN row and a row of -inf give tfjs's logSoftmax's values (float32 noise) and NaNs", async () => {
    await selectBackend("wasm");
    const x = tf.tensor(rows(6, 4), [2, 6, 2]);
    const ours = F.logSoftmax(x, 1);
    const theirs = tf.transpose(tf.logSoftmax(tf.transpose(x, [0, 2, 1])), [0, 2, 1]);
    const a = ours.dataSync();
    const b = theirs.dataSync();
    expect(Array.from(a, (v) => v === -Infinity)).toEqual(Array.from(b, (v) => v === -Infinity));
    expect(Array.from(b).some((v) => v === -Infinity)).toBe(true);
    expect(maxAbs(a.map((v, i) => (v === -Infinity ? 0 : v - b[i]!)))).toBeLessThan(2e-6);
    const odd = F.logSoftmax(tf.tensor([[1, NaN, 2], [-Infinity, -Infinity, -Infinity]]), 1).dataSync();
    expect(Array.from(odd).every(Number.isNaN)).toBe(true);
    tf.dispose([x, ours, theirs]);
  });

  it("16-bit emulation that rounds every op's output keeps tfjs's ops (each rounded)", async () => {
    await selectBackend("wasm");
    const x = tf.tensor(rows(9, 3), [3, 9]);
    const mode = { format: "float16" as const, scope: "all" as const };
    const rounded = withRounding(mode, () => F.logSoftmax(x, 1));
    const viaOps = withRounding(mode, () => tf.logSoftmax(x));
    expect(Array.from(rounded.dataSync())).toEqual(Array.from(viaOps.dataSync()));
    tf.dispose([x, rounded, viaOps]);
  });
});

describe("cross-entropy kernels when their output allocation grows the WASM heap", () => {
  interface WasmHeap {
    makeOutput(...args: unknown[]): unknown;
    wasm: { HEAPU8: Uint8Array; _malloc(bytes: number): number; _free(ptr: number): void };
  }

  /**
   * Runs `f` with every WASM output allocation preceded by a heap growth: a block larger than the
   * whole heap is taken and freed, so memory.grow runs and every element array taken before
   * the allocation is detached (length 0), as when a large batch first outgrows the heap.
   * Returns `f`'s result and how many times the heap grew.
   */
  function growingHeapOnEachAllocation<T>(f: () => T): [T, number] {
    const backend = tf.backend() as unknown as WasmHeap;
    const makeOutput = backend.makeOutput;
    let grew = 0;
    backend.makeOutput = function (...args: unknown[]) {
      const before = backend.wasm.HEAPU8.buffer;
      const block = backend.wasm._malloc(backend.wasm.HEAPU8.length + 1);
      if (block !== 0) backend.wasm._free(block);
      if (backend.wasm.HEAPU8.buffer !== before) grew++;
      return makeOutput.apply(this, args);
    };
    try {
      return [f(), grew];
    } finally {
      backend.makeOutput = makeOutput;
    }
  }

  // float64 textbook: loss = Σ_i (logsumexp(x_i) − x_i[t_i]) / counted, dx = (softmax − onehot)·dy/counted
  function textbook(x: Float32Array, t: Int32Array, c: number, ignore: number, dy: number) {
    const n = t.length;
    const counted = Array.from(t).filter((v) => v !== ignore).length;
    let total = 0;
    const dx = new Float64Array(n * c);
    for (let i = 0; i < n; i++) {
      if (t[i] === ignore) continue;
      const row = Array.from(x.subarray(i * c, (i + 1) * c));
      const m = Math.max(...row);
      const s = row.reduce((a, v) => a + Math.exp(v - m), 0);
      total += m + Math.log(s) - row[t[i]!]!;
      row.forEach((v, k) => (dx[i * c + k] = ((Math.exp(v - m) / s - (k === t[i] ? 1 : 0)) * dy) / counted));
    }
    return { loss: total / counted, dx };
  }

  it("wasm: the loss and its gradient read their inputs after the allocation, not through arrays it detached", async () => {
    await selectBackend("wasm");
    const [n, c, ignore, dyValue] = [40, 30, -100, 0.75];
    const x = Float32Array.from(mixed([n, c], 5).values, (v) => 8 * v);
    const t = Int32Array.from({ length: n }, (_, i) => (i === 7 ? ignore : (i * 7) % c));
    const want = textbook(x, t, c, ignore, dyValue);
    const logits = tf.tensor2d(x, [n, c]);
    const target = tf.tensor1d(t, "int32");
    const dy = tf.scalar(dyValue);
    const attrs = { ignoreIndex: ignore, reduction: "mean" } as never;

    const [loss, grewForward] = growingHeapOnEachAllocation(() => tf.engine().runKernel(CROSS_ENTROPY, { logits, target }, attrs) as tf.Tensor);
    const [dx, grewGrad] = growingHeapOnEachAllocation(() => tf.engine().runKernel(CROSS_ENTROPY_GRAD, { dy, logits, target }, attrs) as tf.Tensor);
    // The gradient allocates its output and a scratch row for the exponentials: two growths.
    expect([grewForward, grewGrad]).toEqual([1, 2]);
    expect(Math.abs(loss.dataSync()[0]! - want.loss)).toBeLessThanOrEqual(1e-6 * Math.abs(want.loss));
    const got = dx.dataSync();
    expect(got.length).toBe(n * c);
    expect(maxAbs(got.map((v, i) => v - want.dx[i]!))).toBeLessThanOrEqual(1e-7);
    tf.dispose([logits, target, dy, loss, dx]);
  });
});
