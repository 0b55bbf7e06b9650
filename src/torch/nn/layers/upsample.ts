import { tf } from "../../tf.ts";
import { Module } from "../module.ts";
import { interpolate, type InterpolateMode } from "../../functional/interpolate.ts";
import { pyBool, pyFloat } from "./_util.ts";

export interface UpsampleOptions {
  size?: number | [number, number];
  scaleFactor?: number | [number, number];
  /** Default "nearest". */
  mode?: InterpolateMode;
  alignCorners?: boolean;
}

function reprValue(v: number | [number, number], float: boolean): string {
  const one = (n: number) => (float ? pyFloat(n) : String(n));
  return typeof v === "number" ? one(v) : `(${v.map(one).join(", ")})`;
}

/** `nn.Upsample({ size | scaleFactor, mode = "nearest", alignCorners })`: `F.interpolate` as a layer. */
export class Upsample extends Module {
  readonly size: number | [number, number] | undefined;
  readonly scaleFactor: number | [number, number] | undefined;
  readonly mode: InterpolateMode;
  readonly alignCorners: boolean | undefined;

  constructor(options: UpsampleOptions = {}) {
    super();
    this.size = options.size;
    this.scaleFactor = options.scaleFactor;
    this.mode = options.mode ?? "nearest";
    this.alignCorners = options.alignCorners;
  }

  override forward(x: tf.Tensor): tf.Tensor {
    return interpolate(x, {
      size: this.size,
      scaleFactor: this.scaleFactor,
      mode: this.mode,
      alignCorners: this.alignCorners,
    });
  }

  override extraRepr(): string {
    const what =
      this.scaleFactor !== undefined
        ? `scale_factor=${reprValue(this.scaleFactor, true)}`
        : `size=${this.size === undefined ? "None" : reprValue(this.size, false)}`;
    return `${what}, mode='${this.mode}'${this.alignCorners !== undefined ? `, align_corners=${pyBool(this.alignCorners)}` : ""}`;
  }
}

export interface UpsamplingOptions {
  size?: number | [number, number];
  scaleFactor?: number | [number, number];
}

/** `nn.UpsamplingNearest2d({ size | scaleFactor })`. */
export class UpsamplingNearest2d extends Upsample {
  constructor(options: UpsamplingOptions = {}) {
    super({ ...options, mode: "nearest" });
  }
}

/** `nn.UpsamplingBilinear2d({ size | scaleFactor })`: bilinear with `alignCorners: true`, as PyTorch. */
export class UpsamplingBilinear2d extends Upsample {
  constructor(options: UpsamplingOptions = {}) {
    super({ ...options, mode: "bilinear", alignCorners: true });
  }
}
