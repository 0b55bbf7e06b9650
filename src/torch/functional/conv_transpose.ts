import { tf } from "../tf.ts";
import { asLowerPrecisionOp } from "../amp/kernel_rounding.ts";
import { pair, shapeStr, type IntPair } from "./_util.ts";
import { dilateKernel } from "./conv.ts";

export interface ConvTranspose2dOptions {
  stride?: IntPair;
  /** Removed from each side of the full output: `dilation * (k - 1) - padding` implicit zero padding. */
  padding?: IntPair;
  /** Extra rows/columns on the bottom/right of the output; less than stride or dilation. */
  outputPadding?: IntPair;
  /** Only 1 is supported. */
  groups?: number;
  dilation?: IntPair;
}

/** PyTorch's output size: (H - 1) s - 2 p + d (k - 1) + output_padding + 1. */
export function convTransposeOutputSize(
  inSize: number,
  kernel: number,
  stride: number,
  padding: number,
  dilation: number,
  outputPadding: number,
): number {
  return (inSize - 1) * stride - 2 * padding + dilation * (kernel - 1) + outputPadding + 1;
}

/**
 * 2-D transposed convolution (the gradient of `conv2d` with respect to its input), PyTorch
 * semantics: input [N, Cin, H, W] (or unbatched [Cin, H, W]), weight [Cin, Cout, kh, kw],
 * `out[n, o, i s + a d - p, j s + b d - p] += x[n, c, i, j] * w[c, o, a, b]`.
 *
 * Runs as tfjs's conv2dTranspose with "valid" padding onto the full output
 * ((H - 1) s + d (k - 1) + 1), then crops `padding` from each side; output padding past the
 * full output is zeros (plus bias). tfjs's numeric padding is not used: it sizes both dims
 * from the filter height.
 */
export function convTranspose2d(
  x: tf.Tensor,
  weight: tf.Tensor,
  bias?: tf.Tensor | null,
  options: ConvTranspose2dOptions = {},
): tf.Tensor {
  const fn = "convTranspose2d()";
  const groups = options.groups ?? 1;
  if (groups !== 1) throw new Error(`${fn}: groups=${groups} is not supported (only groups=1)`);
  if (weight.rank !== 4)
    throw new Error(`${fn}: weight must be [in_channels, out_channels, kh, kw], got ${shapeStr(weight.shape)}`);
  const [cin, cout, kh, kw] = weight.shape as number[];
  if (!((x.rank === 4 && x.shape[1] === cin) || (x.rank === 3 && x.shape[0] === cin))) {
    throw new Error(
      `${fn}: expected input of shape [N, ${cin}, H, W] or unbatched [${cin}, H, W] (weight ${shapeStr(weight.shape)}), got ${shapeStr(x.shape)}`,
    );
  }
  if (bias != null && (bias.rank !== 1 || bias.shape[0] !== cout))
    throw new Error(`${fn}: bias must have shape [${cout}], got ${shapeStr(bias.shape)}`);
  const stride = pair(options.stride ?? 1, `${fn}: stride`);
  const padding = pair(options.padding ?? 0, `${fn}: padding`);
  const outPad = pair(options.outputPadding ?? 0, `${fn}: outputPadding`);
  const dilation = pair(options.dilation ?? 1, `${fn}: dilation`);
  for (const v of [...stride, ...dilation])
    if (!(Number.isInteger(v) && v >= 1)) throw new Error(`${fn}: stride and dilation must be positive integers`);
  for (const v of padding) if (!(Number.isInteger(v) && v >= 0)) throw new Error(`${fn}: padding must be >= 0`);
  for (let d = 0; d < 2; d++) {
    if (!(Number.isInteger(outPad[d]) && outPad[d] >= 0 && (outPad[d] < stride[d] || outPad[d] < dilation[d]))) {
      throw new Error(
        `${fn}: output padding must be smaller than either stride or dilation, got outputPadding=${shapeStr(outPad)} stride=${shapeStr(stride)} dilation=${shapeStr(dilation)}`,
      );
    }
  }
  const batched = x.rank === 4;
  const [h, w] = x.shape.slice(-2) as number[];
  const oh = convTransposeOutputSize(h, kh, stride[0], padding[0], dilation[0], outPad[0]);
  const ow = convTransposeOutputSize(w, kw, stride[1], padding[1], dilation[1], outPad[1]);
  if (oh < 1 || ow < 1) throw new Error(`${fn}: output size ${oh} x ${ow} is too small (padding too large)`);
  // One 16-bit op under autocast: input and weight rounded as they enter, the result (bias
  // included) rounded once; the layout transposes between are float32 intermediates.
  return tf.tidy(() =>
    asLowerPrecisionOp(() => {
      const x4 = batched ? x : tf.expandDims(x, 0);
      const n = x4.shape[0];
      const effH = (kh - 1) * dilation[0] + 1;
      const effW = (kw - 1) * dilation[1] + 1;
      const fullH = (h - 1) * stride[0] + effH;
      const fullW = (w - 1) * stride[1] + effW;
      // tfjs's transposed filter is [kh, kw, out, in].
      const filter = dilateKernel(tf.transpose(weight, [2, 3, 1, 0]), dilation) as tf.Tensor4D;
      const xh = tf.transpose(x4, [0, 2, 3, 1]) as tf.Tensor4D;
      let y: tf.Tensor = tf.conv2dTranspose(xh, filter, [n, fullH, fullW, cout], stride, "valid");
      const extraH = Math.max(0, padding[0] + oh - fullH);
      const extraW = Math.max(0, padding[1] + ow - fullW);
      if (extraH > 0 || extraW > 0) {
        y = tf.pad(y, [
          [0, 0],
          [0, extraH],
          [0, extraW],
          [0, 0],
        ]);
      }
      if (padding[0] > 0 || padding[1] > 0 || y.shape[1] !== oh || y.shape[2] !== ow)
        y = tf.slice(y, [0, padding[0], padding[1], 0], [n, oh, ow, cout]);
      let out = tf.transpose(y, [0, 3, 1, 2]);
      if (bias != null) out = tf.add(out, tf.reshape(bias, [1, cout, 1, 1]));
      return batched ? out : tf.squeeze(out, [0]);
    }),
  );
}
