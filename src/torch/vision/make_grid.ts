/**
 * `torchvision.utils.make_grid`: a batch of images [B, C, H, W] (or [C, H, W], [H, W], or a list of
 * [C, H, W]) laid out as one image [C, H', W'], `nrow` images per row with `padding` pixels of
 * `padValue` around each; one-channel images become three-channel. With `normalize`, each image
 * (or, without `scaleEach`, the whole batch) is shifted and scaled to [0, 1] from `valueRange` or
 * its own min and max, as torchvision does.
 */
import { tf } from "../tf.ts";

export interface MakeGridOptions {
  nrow?: number;
  padding?: number;
  normalize?: boolean;
  valueRange?: [number, number] | null;
  scaleEach?: boolean;
  padValue?: number;
}

export function makeGrid(images: tf.Tensor | tf.Tensor[], options: MakeGridOptions = {}): tf.Tensor3D {
  const { nrow = 8, padding = 2, normalize = false, valueRange = null, scaleEach = false, padValue = 0 } = options;
  return tf.tidy(() => {
    let t = Array.isArray(images) ? tf.stack(images) : images;
    if (t.rank === 2) t = t.expandDims(0);
    if (t.rank === 3) {
      if (t.shape[0] === 1) t = tf.concat([t, t, t], 0);
      t = t.expandDims(0);
    }
    if (t.rank !== 4) throw new Error(`makeGrid(): expected images of shape [B, C, H, W], [C, H, W] or [H, W], got [${t.shape}]`);
    if (t.shape[1] === 1) t = tf.concat([t, t, t], 1);
    t = t.toFloat();
    if (normalize) {
      const norm = (x: tf.Tensor) => {
        const [lo, hi] = valueRange ?? [x.min().dataSync()[0]!, x.max().dataSync()[0]!];
        return x.clipByValue(lo, hi).sub(lo).div(Math.max(hi - lo, 1e-5));
      };
      t = scaleEach ? tf.stack(tf.unstack(t).map(norm)) : norm(t);
    }
    const [nmaps, channels, h, w] = t.shape as [number, number, number, number];
    if (nmaps === 1) return t.squeeze([0]) as tf.Tensor3D;
    const xmaps = Math.min(nrow, nmaps);
    const ymaps = Math.ceil(nmaps / xmaps);
    const height = h + padding;
    const width = w + padding;
    const out = new Float32Array(channels * (height * ymaps + padding) * (width * xmaps + padding)).fill(padValue);
    const gridH = height * ymaps + padding;
    const gridW = width * xmaps + padding;
    const src = t.dataSync();
    for (let k = 0; k < nmaps; k++) {
      const y = Math.floor(k / xmaps);
      const x = k % xmaps;
      for (let c = 0; c < channels; c++) {
        for (let i = 0; i < h; i++) {
          const from = ((k * channels + c) * h + i) * w;
          const to = (c * gridH + y * height + padding + i) * gridW + x * width + padding;
          out.set(src.subarray(from, from + w), to);
        }
      }
    }
    return tf.tensor3d(out, [channels, gridH, gridW]);
  });
}
