/**
 * Image summaries as `torch.utils.tensorboard` writes them (`summary.image`): the tensor laid out
 * as HWC from its `dataformats` (a batch "NCHW"/"NHWC" is tiled into one image, 8 per row, as
 * tensorboard's own grid does; one-channel images become RGB), scaled to bytes — floats times 255,
 * clipped to [0, 255] and truncated, integers taken as bytes (tfjs has no uint8) — and encoded as a
 * PNG (pngjs, through torch/vision).
 */
import { tf } from "../../../torch/tf.ts";
import { encodePng } from "../../../torch/vision/save_image.ts";
import { makeGrid } from "../../../torch/vision/make_grid.ts";
import type { ImageMessage } from "../event_protos.ts";

export type ImageDataFormat = "CHW" | "HWC" | "HW" | "NCHW" | "NHWC";

/** An image as bytes, HWC, 3 or 4 channels. */
export interface HwcImage {
  height: number;
  width: number;
  channels: 3 | 4;
  bytes: Uint8Array;
}

export function toHwcBytes(image: tf.Tensor, dataformats: ImageDataFormat): HwcImage {
  const format = dataformats.toUpperCase() as ImageDataFormat;
  if (!["CHW", "HWC", "HW", "NCHW", "NHWC"].includes(format)) {
    throw new Error(`dataformats must be one of CHW, HWC, HW, NCHW, NHWC, got ${JSON.stringify(dataformats)}`);
  }
  if (image.rank !== format.length) {
    throw new Error(`an image with dataformats "${format}" must have ${format.length} dimensions, got shape [${image.shape}]`);
  }
  const scale = image.dtype === "float32" ? 255 : 1;
  const hwc = tf.tidy(() => {
    let t: tf.Tensor = image;
    if (format === "HW") t = tf.stack([t, t, t], 2);
    else if (format === "CHW") t = t.transpose([1, 2, 0]);
    // tensorboard's own make_grid: 8 per row, no padding, zeros after the last image — torchvision's with padding 0
    else if (format === "NCHW" || format === "NHWC") t = makeGrid(format === "NHWC" ? t.transpose([0, 3, 1, 2]) : t, { nrow: 8, padding: 0 }).transpose([1, 2, 0]);
    if (t.shape[2] === 1) t = tf.concat([t, t, t], 2);
    return t;
  });
  const [height, width, channels] = hwc.shape as [number, number, number];
  if (channels !== 3 && channels !== 4) {
    hwc.dispose();
    throw new Error(`an image must have 1, 3 or 4 channels, got ${channels}`);
  }
  const values = hwc.dataSync();
  hwc.dispose();
  const bytes = new Uint8Array(values.length);
  for (let i = 0; i < values.length; i++) {
    const v = Math.fround(values[i]! * scale); // numpy multiplies a float32 array in float32
    // numpy's (x * scale).clip(0, 255).astype(uint8): clipped, then truncated (NaN → 0)
    bytes[i] = v > 255 ? 255 : v > 0 ? Math.trunc(v) : 0;
  }
  return { height, width, channels, bytes };
}

export function imageSummary(image: tf.Tensor, dataformats: ImageDataFormat): ImageMessage {
  const hwc = toHwcBytes(image, dataformats);
  return { height: hwc.height, width: hwc.width, colorspace: hwc.channels, encoded_image_string: encodePng(hwc.height, hwc.width, hwc.channels, hwc.bytes) };
}
