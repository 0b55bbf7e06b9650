import { tf } from "../tf";
import { pair, shapeStr, type IntPair } from "./_util";

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
}

function geometry(
  fn: string,
  x: tf.Tensor,
  kernelSize: IntPair,
  stride: IntPair | null | undefined,
  padding: IntPair,
  ceilMode: boolean | undefined,
): PoolGeometry {
  if (x.rank !== 4 && x.rank !== 3) {
    throw new Error(`${fn}: expected input of shape [N, C, H, W] or unbatched [C, H, W], got ${shapeStr(x.shape)}`);
  }
  if (ceilMode) throw new Error(`${fn}: ceilMode=true is not supported; pad the input instead`);
  const kernel = pair(kernelSize, `${fn}: kernelSize`);
  const s = pair(stride ?? kernel, `${fn}: stride`);
  const p = pair(padding, `${fn}: padding`);
  if (kernel.some((k) => k < 1) || s.some((v) => v < 1))
    throw new Error(`${fn}: kernel size and stride must be positive`);
  if (p[0] < 0 || p[1] < 0 || p[0] > kernel[0] / 2 || p[1] > kernel[1] / 2) {
    throw new Error(
      `${fn}: pad should be at most half of effective kernel size, but got pad=${JSON.stringify(padding)}, kernel_size=${JSON.stringify(kernelSize)}`,
    );
  }
  const h = x.shape[x.rank - 2] + 2 * p[0];
  const w = x.shape[x.rank - 1] + 2 * p[1];
  if (h < kernel[0] || w < kernel[1]) {
    throw new Error(
      `${fn}: input spatial size ${shapeStr(x.shape.slice(-2))} (padded ${h} x ${w}) is smaller than the kernel ${shapeStr(kernel)}`,
    );
  }
  return { kernel, stride: s, padding: p };
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
  const g = geometry(fn, x, kernelSize, options.stride, options.padding ?? 0, options.ceilMode);
  const dilation = pair(options.dilation ?? 1, `${fn}: dilation`);
  if (dilation[0] !== 1 || dilation[1] !== 1)
    throw new Error(`${fn}: dilation > 1 is not supported (tfjs's max-pool gradient has no dilation)`);
  const [ph, pw] = g.padding;
  return nchw(x, (xh) => {
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
