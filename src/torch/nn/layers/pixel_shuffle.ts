import { tf } from "../../tf.ts";
import { Module } from "../module.ts";
import { pixelShuffle, pixelUnshuffle } from "../../functional/pixel_shuffle.ts";

/** `nn.PixelShuffle(upscaleFactor)`: [*, C r^2, H, W] -> [*, C, H r, W r]. */
export class PixelShuffle extends Module {
  readonly upscaleFactor: number;

  constructor(upscaleFactor: number) {
    super();
    if (!Number.isInteger(upscaleFactor) || upscaleFactor < 1)
      throw new Error(`PixelShuffle: upscaleFactor must be a positive integer, got ${upscaleFactor}`);
    this.upscaleFactor = upscaleFactor;
  }

  override forward(x: tf.Tensor): tf.Tensor {
    return pixelShuffle(x, this.upscaleFactor);
  }

  override extraRepr(): string {
    return `upscale_factor=${this.upscaleFactor}`;
  }
}

/** `nn.PixelUnshuffle(downscaleFactor)`: [*, C, H r, W r] -> [*, C r^2, H, W]. */
export class PixelUnshuffle extends Module {
  readonly downscaleFactor: number;

  constructor(downscaleFactor: number) {
    super();
    if (!Number.isInteger(downscaleFactor) || downscaleFactor < 1)
      throw new Error(`PixelUnshuffle: downscaleFactor must be a positive integer, got ${downscaleFactor}`);
    this.downscaleFactor = downscaleFactor;
  }

  override forward(x: tf.Tensor): tf.Tensor {
    return pixelUnshuffle(x, this.downscaleFactor);
  }

  override extraRepr(): string {
    return `downscale_factor=${this.downscaleFactor}`;
  }
}
