import { tf } from "../tf.ts";
import { MAX_POOL_NCHW } from "../backends/kernels/max_pool_nchw.ts";
import { findKernel } from "../backends/kernel_lookup.ts";
import { pair, shapeStr, type IntPair } from "./_util.ts";

export interface MaxPool2dOptions {
  /** Default: the kernel size (PyTorch's `stride=None`). */
  stride?: IntPair | null;
  /** Implicit -inf padding on each side, at most half the kernel. */
  padding?: IntPair;
  dilation?: IntPair;
  ceilMode?: boolean;
}

export interface AvgPool2dOptions {
  stride?: IntPair | null;
  /** Implicit zero padding on each side, at most half the kernel. */
  padding?: IntPair;
  ceilMode?: boolean;
  /** Count the zero padding in the divisor (PyTorch's default, true). */
  countIncludePad?: boolean;
  /** Divide every window sum by this instead of the window size. */
  divisorOverride?: number;
}

interface PoolGeometry {
  kernel: [number, number];
  stride: [number, number];
  padding: [number, number];
  dilation: [number, number];
  ceilMode: boolean;
  /** Output height and width by PyTorch's `pooling_output_shape`. */
  out: [number, number];
}

/**
 * PyTorch's `pooling_output_shape`: floor (or ceil) of (in + 2 p - d (k - 1) - 1) / s, plus 1;
 * with ceilMode the last window must start inside the input or the left padding.
 */
export function poolOutputSize(
  inSize: number,
  kernel: number,
  stride: number,
  padding: number,
  dilation: number,
  ceilMode: boolean,
): number {
  const span = inSize + 2 * padding - dilation * (kernel - 1) - 1 + (ceilMode ? stride - 1 : 0);
  let out = Math.floor(span / stride) + 1;
  if (ceilMode && (out - 1) * stride >= inSize + padding) out--;
  return out;
}

function geometry(
  fn: string,
  x: tf.Tensor,
  kernelSize: IntPair,
  stride: IntPair | null | undefined,
  padding: IntPair,
  ceilMode: boolean | undefined,
  dilation: IntPair = 1,
): PoolGeometry {
  if (x.rank !== 4 && x.rank !== 3) {
    throw new Error(`${fn}: expected input of shape [N, C, H, W] or unbatched [C, H, W], got ${shapeStr(x.shape)}`);
  }
  const kernel = pair(kernelSize, `${fn}: kernelSize`);
  const s = pair(stride ?? kernel, `${fn}: stride`);
  const p = pair(padding, `${fn}: padding`);
  const d = pair(dilation, `${fn}: dilation`);
  if (kernel.some((k) => k < 1) || s.some((v) => v < 1))
    throw new Error(`${fn}: kernel size and stride must be positive`);
  if (!d.every((v) => Number.isInteger(v) && v >= 1))
    throw new Error(`${fn}: dilation must be a positive integer, got ${JSON.stringify(dilation)}`);
  if (p[0] < 0 || p[1] < 0 || p[0] > kernel[0] / 2 || p[1] > kernel[1] / 2) {
    throw new Error(
      `${fn}: pad should be at most half of effective kernel size, but got pad=${JSON.stringify(padding)}, kernel_size=${JSON.stringify(kernelSize)}`,
    );
  }
  const inH = x.shape[x.rank - 2];
  const inW = x.shape[x.rank - 1];
  const ceil = ceilMode ?? false;
  const out: [number, number] = [
    poolOutputSize(inH, kernel[0], s[0], p[0], d[0], ceil),
    poolOutputSize(inW, kernel[1], s[1], p[1], d[1], ceil),
  ];
  if (out[0] < 1 || out[1] < 1) {
    throw new Error(
      `${fn}: input spatial size ${shapeStr(x.shape.slice(-2))} (padded ${inH + 2 * p[0]} x ${inW + 2 * p[1]}) is smaller than the kernel ${shapeStr(kernel)}${d[0] > 1 || d[1] > 1 ? ` with dilation ${shapeStr(d)}` : ""}`,
    );
  }
  return { kernel, stride: s, padding: p, dilation: d, ceilMode: ceil, out };
}

/**
 * NHWC input padded with `value` by `padding` on top/left and cut or padded on the bottom/right
 * to exactly the extent the output windows read: (out - 1) s + d (k - 1) + 1.
 */
function padToWindows(xh: tf.Tensor4D, g: PoolGeometry, value: number): tf.Tensor4D {
  const [, h, w] = xh.shape;
  const need = [0, 1].map((a) => (g.out[a] - 1) * g.stride[a] + g.dilation[a] * (g.kernel[a] - 1) + 1);
  const after = [need[0] - h - g.padding[0], need[1] - w - g.padding[1]];
  let y = xh;
  if (g.padding[0] > 0 || g.padding[1] > 0 || after[0] > 0 || after[1] > 0) {
    y = tf.pad(
      y,
      [
        [0, 0],
        [g.padding[0], Math.max(0, after[0])],
        [g.padding[1], Math.max(0, after[1])],
        [0, 0],
      ],
      value,
    );
  }
  if (after[0] < 0 || after[1] < 0) y = tf.slice(y, [0, 0, 0, 0], [-1, need[0], need[1], -1]);
  return y;
}

/** t[:, start : start + count s : s] along spatial `axis` (1 or 2) of NHWC, by slice + reshape. */
function stridedTaps(t: tf.Tensor4D, axis: 1 | 2, start: number, count: number, s: number): tf.Tensor4D {
  const begin = [0, 0, 0, 0];
  const size = [-1, -1, -1, -1];
  begin[axis] = start;
  size[axis] = (count - 1) * s + 1;
  let y: tf.Tensor = tf.slice(t, begin, size);
  if (s === 1) return y as tf.Tensor4D;
  const padding: Array<[number, number]> = [
    [0, 0],
    [0, 0],
    [0, 0],
    [0, 0],
  ];
  padding[axis] = [0, s - 1];
  y = tf.pad(y, padding);
  const split = [...y.shape];
  split.splice(axis, 1, count, s);
  y = tf.reshape(y, split);
  const b = [0, 0, 0, 0, 0];
  const sz = [...split];
  sz[axis + 1] = 1;
  y = tf.slice(y, b, sz);
  const back = [...t.shape] as [number, number, number, number];
  back[axis] = count;
  return tf.reshape(y, back) as tf.Tensor4D;
}

/**
 * Dilated max pooling as the running maximum of the kernel's k_h k_w shifted, strided views
 * (tfjs's max pool has no dilation, and its gradient none either). Ties go to the earlier tap,
 * as PyTorch's first-maximum rule.
 */
function dilatedMaxPool(xh: tf.Tensor4D, g: PoolGeometry): tf.Tensor4D {
  const padded = padToWindows(xh, g, -Infinity);
  let best: tf.Tensor4D | null = null;
  for (let i = 0; i < g.kernel[0]; i++) {
    const rows = stridedTaps(padded, 1, i * g.dilation[0], g.out[0], g.stride[0]);
    for (let j = 0; j < g.kernel[1]; j++) {
      const tap = stridedTaps(rows, 2, j * g.dilation[1], g.out[1], g.stride[1]);
      best = best === null ? tap : (tf.maximum(best, tap) as tf.Tensor4D);
    }
  }
  return best!;
}

/**
 * Whether tfjs's numeric padding is right: it sizes both output dims from the filter height and
 * the height stride (conv_util.getPadAndOutInfo), so only square geometry with equal padding.
 */
function squareGeometry(g: PoolGeometry): boolean {
  return g.kernel[0] === g.kernel[1] && g.stride[0] === g.stride[1] && g.padding[0] === g.padding[1];
}

/** Runs a channels-last pooling op on NCHW (or CHW) input. */
function nchw(x: tf.Tensor, op: (xh: tf.Tensor4D) => tf.Tensor4D): tf.Tensor {
  return tf.tidy(() => {
    const x4 = x.rank === 4 ? x : tf.expandDims(x, 0);
    const y = tf.transpose(op(tf.transpose(x4, [0, 2, 3, 1]) as tf.Tensor4D), [0, 3, 1, 2]);
    return x.rank === 4 ? y : tf.squeeze(y, [0]);
  });
}

/**
 * 2-D max pooling over NCHW input. Padding is -inf, as in PyTorch: tfjs's pool kernels skip
 * out-of-range taps, which is the same thing.
 */
export function maxPool2d(x: tf.Tensor, kernelSize: IntPair, options: MaxPool2dOptions = {}): tf.Tensor {
  const fn = "maxPool2d()";
  const g = geometry(fn, x, kernelSize, options.stride, options.padding ?? 0, options.ceilMode, options.dilation ?? 1);
  if (findKernel(MAX_POOL_NCHW, tf.getBackend()) !== undefined) {
    // WASM and pure JS pool NCHW in place (max_pool_nchw.ts); other backends go through channels-last.
    const attrs = { kernel: g.kernel, stride: g.stride, padding: g.padding, dilation: g.dilation, out: g.out };
    return tf.tidy(() => {
      const x4 = x.rank === 4 ? x : tf.expandDims(x, 0);
      const y = tf.engine().runKernel(MAX_POOL_NCHW, { x: x4 }, attrs as unknown as tf.NamedAttrMap) as tf.Tensor;
      return x.rank === 4 ? y : tf.squeeze(y, [0]);
    });
  }
  const [ph, pw] = g.padding;
  return nchw(x, (xh) => {
    if (g.dilation[0] !== 1 || g.dilation[1] !== 1) return dilatedMaxPool(xh, g);
    // ceilMode: pad the bottom/right with -inf out to the last window, then pool "valid".
    if (g.ceilMode) return tf.maxPool(padToWindows(xh, g, -Infinity), g.kernel, g.stride, "valid");
    if (ph === 0 && pw === 0) return tf.maxPool(xh, g.kernel, g.stride, "valid");
    if (squareGeometry(g)) return tf.maxPool(xh, g.kernel, g.stride, ph);
    // Otherwise pad explicitly with -inf so padded taps never win.
    const padded = tf.pad(
      xh,
      [
        [0, 0],
        [ph, ph],
        [pw, pw],
        [0, 0],
      ],
      -Infinity,
    );
    return tf.maxPool(padded, g.kernel, g.stride, "valid");
  });
}

/**
 * 2-D average pooling over NCHW input. By default padding zeros count in the divisor
 * (`countIncludePad: true`), PyTorch's default; tfjs's own padded average excludes them.
 */
export function avgPool2d(x: tf.Tensor, kernelSize: IntPair, options: AvgPool2dOptions = {}): tf.Tensor {
  const fn = "avgPool2d()";
  const g = geometry(fn, x, kernelSize, options.stride, options.padding ?? 0, options.ceilMode);
  const { countIncludePad = true, divisorOverride } = options;
  if (divisorOverride !== undefined && !(divisorOverride > 0))
    throw new Error(`${fn}: divisorOverride must be positive, got ${divisorOverride}`);
  const [ph, pw] = g.padding;
  const hasPad = ph > 0 || pw > 0;
  if (g.ceilMode) return nchw(x, (xh) => ceilAvgPool(xh, g, countIncludePad, divisorOverride));
  return nchw(x, (xh) => {
    if (divisorOverride !== undefined) {
      // window sum / divisor: the mean over zero-padded windows times the window size.
      const padded = hasPad
        ? tf.pad(xh, [
            [0, 0],
            [ph, ph],
            [pw, pw],
            [0, 0],
          ])
        : xh;
      const mean = tf.avgPool(padded, g.kernel, g.stride, "valid");
      return tf.mul(mean, (g.kernel[0] * g.kernel[1]) / divisorOverride) as tf.Tensor4D;
    }
    if (!hasPad) return tf.avgPool(xh, g.kernel, g.stride, "valid");
    if (countIncludePad)
      return tf.avgPool(
        tf.pad(xh, [
          [0, 0],
          [ph, ph],
          [pw, pw],
          [0, 0],
        ]),
        g.kernel,
        g.stride,
        "valid",
      );
    if (squareGeometry(g)) return tf.avgPool(xh, g.kernel, g.stride, ph);
    // Padding not counted, non-square geometry: window means of the zero-padded map divided by
    // the window means of a padded ones map (the fraction of real pixels).
    const ones = tf.onesLike(tf.slice(xh, [0, 0, 0, 0], [1, -1, -1, 1]));
    const sums = tf.avgPool(
      tf.pad(xh, [
        [0, 0],
        [ph, ph],
        [pw, pw],
        [0, 0],
      ]),
      g.kernel,
      g.stride,
      "valid",
    );
    const counts = tf.avgPool(
      tf.pad(ones, [
        [0, 0],
        [ph, ph],
        [pw, pw],
        [0, 0],
      ]),
      g.kernel,
      g.stride,
      "valid",
    );
    return tf.div(sums, counts) as tf.Tensor4D;
  });
}

/**
 * Average pooling with ceilMode: window sums over the zero-padded input divided by PyTorch's
 * divisor (`avg_pool2d`): windows are clipped to the padded input [-p, in + p) for
 * countIncludePad, and to the input itself otherwise.
 */
function ceilAvgPool(
  xh: tf.Tensor4D,
  g: PoolGeometry,
  countIncludePad: boolean,
  divisorOverride: number | undefined,
): tf.Tensor4D {
  const [, h, w] = xh.shape;
  const sums = tf.mul(tf.avgPool(padToWindows(xh, g, 0), g.kernel, g.stride, "valid"), g.kernel[0] * g.kernel[1]);
  if (divisorOverride !== undefined) return tf.div(sums, divisorOverride) as tf.Tensor4D;
  const extent = (o: number, a: number, size: number): number => {
    let start = o * g.stride[a] - g.padding[a];
    let end = Math.min(start + g.kernel[a], size + g.padding[a]);
    if (countIncludePad) return end - start;
    start = Math.max(start, 0);
    end = Math.min(end, size);
    return end - start;
  };
  const [oh, ow] = g.out;
  const div = new Float32Array(oh * ow);
  for (let i = 0; i < oh; i++) for (let j = 0; j < ow; j++) div[i * ow + j] = extent(i, 0, h) * extent(j, 1, w);
  return tf.div(sums, tf.tensor(div, [1, oh, ow, 1])) as tf.Tensor4D;
}

function adaptiveBounds(inSize: number, outSize: number, i: number): [number, number] {
  // PyTorch's adaptive windows: [floor(i * in / out), ceil((i + 1) * in / out)).
  return [Math.floor((i * inSize) / outSize), Math.ceil(((i + 1) * inSize) / outSize)];
}

/**
 * Adaptive average pooling to a fixed output size (`null` keeps that dimension). Windows that
 * tile the input evenly become one avgPool; otherwise each output cell is a mean over its
 * PyTorch window.
 */
export function adaptiveAvgPool2d(x: tf.Tensor, outputSize: number | [number | null, number | null]): tf.Tensor {
  const fn = "adaptiveAvgPool2d()";
  if (x.rank !== 4 && x.rank !== 3) {
    throw new Error(`${fn}: expected input of shape [N, C, H, W] or unbatched [C, H, W], got ${shapeStr(x.shape)}`);
  }
  const h = x.shape[x.rank - 2];
  const w = x.shape[x.rank - 1];
  const [oh, ow] = typeof outputSize === "number" ? [outputSize, outputSize] : [outputSize[0] ?? h, outputSize[1] ?? w];
  if (!(oh >= 1 && ow >= 1)) throw new Error(`${fn}: output size must be positive, got ${JSON.stringify(outputSize)}`);
  if (h % oh === 0 && w % ow === 0) {
    const k: [number, number] = [h / oh, w / ow];
    return avgPool2d(x, k, { stride: k });
  }
  return tf.tidy(() => {
    const rows: tf.Tensor[] = [];
    for (let i = 0; i < oh; i++) {
      const [h0, h1] = adaptiveBounds(h, oh, i);
      const cols: tf.Tensor[] = [];
      for (let j = 0; j < ow; j++) {
        const [w0, w1] = adaptiveBounds(w, ow, j);
        const begin = [...Array(x.rank - 2).fill(0), h0, w0];
        const size = [...Array(x.rank - 2).fill(-1), h1 - h0, w1 - w0];
        cols.push(tf.mean(tf.slice(x, begin, size), [x.rank - 2, x.rank - 1]));
      }
      rows.push(tf.stack(cols, -1));
    }
    return tf.stack(rows, -2);
  });
}
