/**
 * `torchvision.utils.save_image`: `makeGrid` of the images, to bytes as torchvision does
 * (×255, +0.5, clamped to [0, 255], truncated: rounded half up), written as a PNG (pngjs),
 * atomically.
 */
import { renameSync, writeFileSync } from "node:fs";
import { PNG } from "pngjs";
import { tf } from "../tf.ts";
import { makeGrid, type MakeGridOptions } from "./make_grid.ts";

/** HWC bytes (3 or 4 channels) as a PNG file's bytes. */
export function encodePng(height: number, width: number, channels: 3 | 4, bytes: Uint8Array): Uint8Array {
  const colorType = channels === 4 ? 6 : 2;
  const png = new PNG({ width, height, colorType, inputColorType: colorType, inputHasAlpha: channels === 4 });
  png.data = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return new Uint8Array(PNG.sync.write(png, { colorType, inputColorType: colorType, inputHasAlpha: channels === 4 }));
}

export function saveImage(images: tf.Tensor | tf.Tensor[], file: string, options: MakeGridOptions = {}): void {
  const grid = makeGrid(images, options);
  const [channels, height, width] = grid.shape as [number, number, number];
  if (channels !== 3 && channels !== 4) throw new Error(`saveImage(): images must have 1, 3 or 4 channels, got ${channels}`);
  const hwc = tf.tidy(() => grid.transpose([1, 2, 0]));
  const values = hwc.dataSync();
  hwc.dispose();
  grid.dispose();
  const bytes = new Uint8Array(values.length);
  for (let i = 0; i < values.length; i++) {
    // float32 arithmetic, as torchvision's grid.mul(255).add_(0.5) on a float tensor
    const v = Math.fround(Math.fround(values[i]! * 255) + 0.5);
    bytes[i] = v >= 255 ? 255 : v > 0 ? Math.trunc(v) : 0;
  }
  const tmp = `${file}.tmp-${process.pid}`;
  writeFileSync(tmp, encodePng(height, width, channels, bytes));
  renameSync(tmp, file);
}
