import { tf } from "../../tf.ts";
import { Module } from "../module.ts";
import {
  maxPool2d,
  avgPool2d,
  adaptiveAvgPool2d,
  type MaxPool2dOptions,
  type AvgPool2dOptions,
} from "../../functional/pooling.ts";
import { pair, type IntPair } from "../../functional/_util.ts";
import { pyTuple } from "./_util.ts";

function repr(v: IntPair): string {
  return typeof v === "number" ? String(v) : pyTuple(v);
}

/** `nn.MaxPool2d(kernelSize, { stride = kernelSize, padding = 0, dilation = 1, ceilMode = false })` over NCHW input. */
export class MaxPool2d extends Module {
  readonly kernelSize: IntPair;
  readonly stride: IntPair;
  readonly padding: IntPair;
  readonly dilation: IntPair;
  readonly ceilMode: boolean;

  constructor(kernelSize: IntPair, options: MaxPool2dOptions = {}) {
    super();
    this.kernelSize = kernelSize;
    this.stride = options.stride ?? kernelSize;
    this.padding = options.padding ?? 0;
    this.dilation = options.dilation ?? 1;
    this.ceilMode = options.ceilMode ?? false;
    pair(kernelSize, "MaxPool2d: kernelSize");
  }

  override forward(x: tf.Tensor): tf.Tensor {
    return maxPool2d(x, this.kernelSize, {
      stride: this.stride,
      padding: this.padding,
      dilation: this.dilation,
      ceilMode: this.ceilMode,
    });
  }

  override extraRepr(): string {
    return `kernel_size=${repr(this.kernelSize)}, stride=${repr(this.stride)}, padding=${repr(this.padding)}, dilation=${repr(this.dilation)}, ceil_mode=${this.ceilMode ? "True" : "False"}`;
  }
}

/** `nn.AvgPool2d(kernelSize, { stride = kernelSize, padding = 0, ceilMode = false, countIncludePad = true })`. */
export class AvgPool2d extends Module {
  readonly kernelSize: IntPair;
  readonly stride: IntPair;
  readonly padding: IntPair;
  readonly countIncludePad: boolean;
  readonly divisorOverride: number | undefined;
  readonly ceilMode: boolean;

  constructor(kernelSize: IntPair, options: AvgPool2dOptions = {}) {
    super();
    this.kernelSize = kernelSize;
    this.stride = options.stride ?? kernelSize;
    this.padding = options.padding ?? 0;
    this.countIncludePad = options.countIncludePad ?? true;
    this.divisorOverride = options.divisorOverride;
    this.ceilMode = options.ceilMode ?? false;
    pair(kernelSize, "AvgPool2d: kernelSize");
  }

  override forward(x: tf.Tensor): tf.Tensor {
    return avgPool2d(x, this.kernelSize, {
      stride: this.stride,
      padding: this.padding,
      ceilMode: this.ceilMode,
      countIncludePad: this.countIncludePad,
      divisorOverride: this.divisorOverride,
    });
  }

  override extraRepr(): string {
    return `kernel_size=${repr(this.kernelSize)}, stride=${repr(this.stride)}, padding=${repr(this.padding)}`;
  }
}

/** `nn.AdaptiveAvgPool2d(outputSize)`: average pooling to a fixed spatial size. */
export class AdaptiveAvgPool2d extends Module {
  readonly outputSize: number | [number | null, number | null];

  constructor(outputSize: number | [number | null, number | null]) {
    super();
    this.outputSize = outputSize;
  }

  override forward(x: tf.Tensor): tf.Tensor {
    return adaptiveAvgPool2d(x, this.outputSize);
  }

  override extraRepr(): string {
    return `output_size=${typeof this.outputSize === "number" ? this.outputSize : `(${this.outputSize.map((v) => v ?? "None").join(", ")})`}`;
  }
}
