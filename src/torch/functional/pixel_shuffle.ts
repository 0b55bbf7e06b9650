import { tf } from "../tf.ts";
import { shapeStr } from "./_util.ts";

function checkFactor(fn: string, r: number): void {
  if (!Number.isInteger(r) || r < 1) throw new Error(`${fn}: factor must be a positive integer, got ${r}`);
}

/**
 * `F.pixel_shuffle`: [*, C r^2, H, W] -> [*, C, H r, W r], with
 * `out[..., c, h r + i, w r + j] = in[..., c r^2 + i r + j, h, w]`.
 */
export function pixelShuffle(x: tf.Tensor, upscaleFactor: number): tf.Tensor {
  const fn = "pixelShuffle()";
  checkFactor(fn, upscaleFactor);
  const r = upscaleFactor;
  if (x.rank < 3) throw new Error(`${fn}: expected input of shape [*, C * r^2, H, W], got ${shapeStr(x.shape)}`);
  const [cr, h, w] = x.shape.slice(-3) as number[];
  if (cr % (r * r) !== 0) {
    throw new Error(
      `${fn}: the channel dimension (${cr}) of input ${shapeStr(x.shape)} must be divisible by upscaleFactor^2 (${r * r})`,
    );
  }
  const lead = x.shape.slice(0, -3);
  const c = cr / (r * r);
  return tf.tidy(() => {
    const y = tf.transpose(tf.reshape(x, [-1, c, r, r, h, w]), [0, 1, 4, 2, 5, 3]);
    return tf.reshape(y, [...lead, c, h * r, w * r]);
  });
}

/** `F.pixel_unshuffle`, the inverse: [*, C, H r, W r] -> [*, C r^2, H, W]. */
export function pixelUnshuffle(x: tf.Tensor, downscaleFactor: number): tf.Tensor {
  const fn = "pixelUnshuffle()";
  checkFactor(fn, downscaleFactor);
  const r = downscaleFactor;
  if (x.rank < 3) throw new Error(`${fn}: expected input of shape [*, C, H * r, W * r], got ${shapeStr(x.shape)}`);
  const [c, hr, wr] = x.shape.slice(-3) as number[];
  if (hr % r !== 0 || wr % r !== 0) {
    throw new Error(
      `${fn}: the height and width of input ${shapeStr(x.shape)} must be divisible by downscaleFactor (${r})`,
    );
  }
  const lead = x.shape.slice(0, -3);
  const h = hr / r;
  const w = wr / r;
  return tf.tidy(() => {
    const y = tf.transpose(tf.reshape(x, [-1, c, h, r, w, r]), [0, 1, 3, 5, 2, 4]);
    return tf.reshape(y, [...lead, c * r * r, h, w]);
  });
}
