import { tf } from "../tf.ts";
import { asLowerPrecisionOp } from "../amp/kernel_rounding.ts";
import { pair, shapeStr, type IntPair } from "./_util.ts";
import { requiresGrad } from "../autograd/requires_grad.ts";
import { isGradEnabled } from "../autograd/grad_mode.ts";

export type ConvPadding = IntPair | "same" | "valid";

export interface Conv2dOptions {
  stride?: IntPair;
  /** Zero padding on each side, or "same" (stride 1 only, as in PyTorch) / "valid" (none). */
  padding?: ConvPadding;
  dilation?: IntPair;
  groups?: number;
}

export interface Conv1dOptions {
  stride?: number;
  padding?: number | "same" | "valid";
  dilation?: number;
  groups?: number;
}

/** [top, bottom, left, right] zero padding of the spatial dimensions. */
export type Pads = [number, number, number, number];

function samePads(kernel: [number, number], dilation: [number, number]): Pads {
  // PyTorch puts the odd pixel of padding on the bottom/right.
  const th = dilation[0] * (kernel[0] - 1);
  const tw = dilation[1] * (kernel[1] - 1);
  return [Math.floor(th / 2), th - Math.floor(th / 2), Math.floor(tw / 2), tw - Math.floor(tw / 2)];
}

export function resolvePads(
  padding: ConvPadding,
  kernel: [number, number],
  stride: [number, number],
  dilation: [number, number],
  fn: string,
): Pads {
  if (padding === "valid") return [0, 0, 0, 0];
  if (padding === "same") {
    if (stride[0] !== 1 || stride[1] !== 1)
      throw new Error(`${fn}: padding="same" is not supported for strided convolutions`);
    return samePads(kernel, dilation);
  }
  const [ph, pw] = pair(padding, `${fn}: padding`);
  if (ph < 0 || pw < 0) throw new Error(`${fn}: padding must be non-negative, got ${JSON.stringify(padding)}`);
  return [ph, ph, pw, pw];
}

/**
 * A dilated kernel as an ordinary kernel with zeros between the taps. tfjs's Conv2D gradient
 * refuses dilations > 1 and its forward refuses stride and dilation together; spelled out with
 * reshape + pad + slice (all differentiable) dilation works everywhere, gradients included.
 * `w` is in tfjs layout [kh, kw, in, out].
 */
export function dilateKernel(w: tf.Tensor, dilation: [number, number]): tf.Tensor {
  const [dh, dw] = dilation;
  if (dh === 1 && dw === 1) return w;
  const [kh, kw, c, o] = w.shape;
  // Rows, then columns, each a pad of rank ≤ 4 (tfjs's WebGPU Pad emits invalid WGSL for rank 6).
  const rows = tf.reshape(tf.pad(tf.reshape(w, [kh, 1, kw * c * o]), [[0, 0], [0, dh - 1], [0, 0]]), [kh * dh, kw, c, o]);
  const h = (kh - 1) * dh + 1;
  const tall = tf.slice(rows, [0, 0, 0, 0], [h, kw, c, o]);
  const cols = tf.reshape(tf.pad(tf.reshape(tall, [h, kw, 1, c * o]), [[0, 0], [0, 0], [0, dw - 1], [0, 0]]), [h, kw * dw, c, o]);
  return tf.slice(cols, [0, 0, 0, 0], [h, (kw - 1) * dw + 1, c, o]);
}

/** True when depthwise convolution can be differentiated on the active backend. */
function depthwiseTrainable(): boolean {
  const backend = tf.getBackend();
  return (
    tf.getKernel("DepthwiseConv2dNativeBackpropFilter", backend) != null &&
    tf.getKernel("DepthwiseConv2dNativeBackpropInput", backend) != null
  );
}

/**
 * The shared 2-D convolution on NCHW input with PyTorch's weight layout [out, in/groups, kh, kw].
 * tfjs convolves channels-last, so the input goes through one transpose each way.
 */
function convNCHW(
  x: tf.Tensor,
  weight: tf.Tensor,
  bias: tf.Tensor | null | undefined,
  stride: [number, number],
  dilation: [number, number],
  pads: Pads,
  groups: number,
  fn: string,
  describeInput: string,
): tf.Tensor {
  const [, c, h, wd] = x.shape;
  const [o, cg, kh, kw] = weight.shape;
  if (!Number.isInteger(groups) || groups < 1)
    throw new Error(`${fn}: groups must be a positive integer, got ${groups}`);
  if (c !== cg * groups) {
    throw new Error(
      `${fn}: expected input ${describeInput} with ${cg * groups} channels (weight ${shapeStr(weight.shape)}, groups=${groups}), got ${c} channels`,
    );
  }
  if (o % groups !== 0) throw new Error(`${fn}: out_channels (${o}) must be divisible by groups (${groups})`);
  if (bias != null && (bias.rank !== 1 || bias.shape[0] !== o)) {
    throw new Error(`${fn}: bias must have shape [${o}], got ${shapeStr(bias.shape)}`);
  }
  for (const s of [...stride, ...dilation]) {
    if (!(Number.isInteger(s) && s >= 1))
      throw new Error(
        `${fn}: stride and dilation must be positive integers, got stride=${stride} dilation=${dilation}`,
      );
  }
  const effH = (kh - 1) * dilation[0] + 1;
  const effW = (kw - 1) * dilation[1] + 1;
  if (h + pads[0] + pads[1] < effH || wd + pads[2] + pads[3] < effW) {
    throw new Error(
      `${fn}: padded input size (${h + pads[0] + pads[1]} x ${wd + pads[2] + pads[3]}) is smaller than the kernel size (${effH} x ${effW})`,
    );
  }
  // One 16-bit op under autocast: input and weight rounded as they enter, the result (bias
  // included) rounded once; the layout transposes between are float32 intermediates.
  return tf.tidy(() =>
    asLowerPrecisionOp(() => {
      let xh = tf.transpose(x, [0, 2, 3, 1]) as tf.Tensor4D;
      let pad: number | "valid" = "valid";
      // tfjs's numeric padding computes BOTH output dims from the filter height and the height
      // stride (conv_util.getPadAndOutInfo), so it is only right for square geometry; otherwise
      // pad explicitly and convolve "valid". (WASM writes out of bounds on the wrong shape.)
      const square = effH === effW && stride[0] === stride[1];
      if (pads.every((p) => p === 0)) {
        pad = "valid";
      } else if (square && pads.every((p) => p === pads[0])) {
        pad = pads[0];
      } else {
        xh = tf.pad(xh, [
          [0, 0],
          [pads[0], pads[1]],
          [pads[2], pads[3]],
          [0, 0],
        ]);
      }
      let y: tf.Tensor4D;
      if (groups === 1) {
        const filter = dilateKernel(tf.transpose(weight, [2, 3, 1, 0]), dilation) as tf.Tensor4D;
        y = tf.conv2d(xh, filter, stride, pad);
      } else if (cg === 1 && (depthwiseTrainable() || !isGradEnabled() || !(requiresGrad(weight) || requiresGrad(x)))) {
        // Depthwise: output channel c*k + m reads input channel c, which is exactly tfjs's
        // depthwise layout [kh, kw, in, multiplier].
        const k = o / groups;
        const filter = dilateKernel(
          tf.transpose(tf.reshape(weight, [groups, k, kh, kw]), [2, 3, 0, 1]),
          dilation,
        ) as tf.Tensor4D;
        y = tf.depthwiseConv2d(xh, filter, stride, pad);
      } else {
        // General groups: one convolution per group of channels, concatenated.
        const xs = tf.split(xh, groups, 3);
        const ws = tf.split(weight, groups, 0);
        const ys = xs.map((xg, g) => {
          const filter = dilateKernel(tf.transpose(ws[g], [2, 3, 1, 0]), dilation) as tf.Tensor4D;
          return tf.conv2d(xg as tf.Tensor4D, filter, stride, pad);
        });
        y = tf.concat(ys, 3);
      }
      let out = tf.transpose(y, [0, 3, 1, 2]);
      if (bias != null) out = tf.add(out, tf.reshape(bias, [1, o, 1, 1]));
      return out;
    }),
  );
}

/**
 * 2-D convolution, PyTorch semantics: input [N, C, H, W] (or unbatched [C, H, W]), weight
 * [out, in/groups, kh, kw], output [N, out, H', W'] with
 * H' = floor((H + 2 p - d (kh - 1) - 1) / s) + 1.
 */
export function conv2d(
  x: tf.Tensor,
  weight: tf.Tensor,
  bias?: tf.Tensor | null,
  options: Conv2dOptions = {},
): tf.Tensor {
  const fn = "conv2d()";
  if (weight.rank !== 4)
    throw new Error(`${fn}: weight must be [out_channels, in_channels/groups, kh, kw], got ${shapeStr(weight.shape)}`);
  const groups = options.groups ?? 1;
  const ws = weight.shape as number[];
  const cin = ws[1] * groups;
  if (x.rank !== 4 && x.rank !== 3) {
    throw new Error(
      `${fn}: expected input of shape [N, ${cin}, H, W] or unbatched [${cin}, H, W], got ${shapeStr(x.shape)}`,
    );
  }
  const stride = pair(options.stride ?? 1, `${fn}: stride`);
  const dilation = pair(options.dilation ?? 1, `${fn}: dilation`);
  const kernel: [number, number] = [ws[2], ws[3]];
  const pads = resolvePads(options.padding ?? 0, kernel, stride, dilation, fn);
  if (x.rank === 4) return convNCHW(x, weight, bias, stride, dilation, pads, groups, fn, `[N, ${cin}, H, W]`);
  return tf.tidy(() => {
    const y = convNCHW(tf.expandDims(x, 0), weight, bias, stride, dilation, pads, groups, fn, `[N, ${cin}, H, W]`);
    return tf.squeeze(y, [0]);
  });
}

/**
 * 1-D convolution: input [N, C, L] (or [C, L]), weight [out, in/groups, k]. Runs as a 2-D
 * convolution over a height-1 image.
 */
export function conv1d(
  x: tf.Tensor,
  weight: tf.Tensor,
  bias?: tf.Tensor | null,
  options: Conv1dOptions = {},
): tf.Tensor {
  const fn = "conv1d()";
  if (weight.rank !== 3)
    throw new Error(`${fn}: weight must be [out_channels, in_channels/groups, k], got ${shapeStr(weight.shape)}`);
  const groups = options.groups ?? 1;
  const ws = weight.shape as number[];
  const cin = ws[1] * groups;
  if (x.rank !== 3 && x.rank !== 2) {
    throw new Error(`${fn}: expected input of shape [N, ${cin}, L] or unbatched [${cin}, L], got ${shapeStr(x.shape)}`);
  }
  const stride: [number, number] = [1, options.stride ?? 1];
  const dilation: [number, number] = [1, options.dilation ?? 1];
  const padding = options.padding ?? 0;
  const pads = resolvePads(typeof padding === "number" ? [0, padding] : padding, [1, ws[2]], stride, dilation, fn);
  return tf.tidy(() => {
    const batched = x.rank === 3;
    const x3 = batched ? x : tf.expandDims(x, 0);
    const w4 = tf.expandDims(weight, 2);
    const y = convNCHW(tf.expandDims(x3, 2), w4, bias, stride, dilation, pads, groups, fn, `[N, ${cin}, L]`);
    const y3 = tf.squeeze(y, [2]);
    return batched ? y3 : tf.squeeze(y3, [0]);
  });
}
