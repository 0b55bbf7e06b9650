import { tf } from "../../tf.ts";
import { Module } from "../module.ts";
import { emptyParameter } from "../parameter.ts";
import * as init from "../init.ts";
import { conv2d, conv1d, resolvePads } from "../../functional/conv.ts";
import { pad as fpad } from "../../functional/shape.ts";
import { pair, type IntPair } from "../../functional/_util.ts";
import { expectInput, pyTuple } from "./_util.ts";

export type PaddingMode = "zeros" | "reflect" | "replicate" | "circular";

export interface Conv2dOptions {
  stride?: IntPair;
  /** Padding on each side (int or [ph, pw]), "same" (stride 1) or "valid". Default 0. */
  padding?: IntPair | "same" | "valid";
  dilation?: IntPair;
  groups?: number;
  bias?: boolean;
  /** What the padding is filled with (default "zeros"). */
  paddingMode?: PaddingMode;
}

export interface Conv1dOptions {
  stride?: number;
  padding?: number | "same" | "valid";
  dilation?: number;
  groups?: number;
  bias?: boolean;
  paddingMode?: PaddingMode;
}

function checkChannels(layer: string, inC: number, outC: number, groups: number): void {
  if (!Number.isInteger(groups) || groups < 1)
    throw new Error(`${layer}: groups must be a positive integer, got ${groups}`);
  if (inC % groups !== 0) throw new Error(`${layer}: in_channels (${inC}) must be divisible by groups (${groups})`);
  if (outC % groups !== 0) throw new Error(`${layer}: out_channels (${outC}) must be divisible by groups (${groups})`);
}

/** Weight then bias, PyTorch's `_ConvNd.reset_parameters`. */
export function resetConv(weight: tf.Variable, bias: tf.Variable | null): void {
  init.kaimingUniform_(weight, { a: Math.sqrt(5) });
  if (bias) {
    const [fanIn] = init._calculateFanInAndFanOut(weight);
    const bound = fanIn > 0 ? 1 / Math.sqrt(fanIn) : 0;
    init.uniform_(bias, -bound, bound);
  }
}

/**
 * 2-D convolution over NCHW input, like `torch.nn.Conv2d`: weight [out, in/groups, kh, kw],
 * bias [out], PyTorch's default initialisation (kaiming-uniform a = sqrt(5), bias
 * U(+-1/sqrt(fan_in))). `groups == in == out` is a depthwise convolution.
 */
export class Conv2d extends Module {
  weight: tf.Variable;
  bias: tf.Variable | null;
  readonly inChannels: number;
  readonly outChannels: number;
  readonly kernelSize: [number, number];
  readonly stride: [number, number];
  readonly padding: [number, number] | "same" | "valid";
  readonly dilation: [number, number];
  readonly groups: number;
  readonly paddingMode: PaddingMode;

  constructor(inChannels: number, outChannels: number, kernelSize: IntPair, options: Conv2dOptions = {}) {
    super();
    const groups = options.groups ?? 1;
    checkChannels("Conv2d", inChannels, outChannels, groups);
    this.inChannels = inChannels;
    this.outChannels = outChannels;
    this.kernelSize = pair(kernelSize, "Conv2d: kernelSize");
    this.stride = pair(options.stride ?? 1, "Conv2d: stride");
    const p = options.padding ?? 0;
    this.padding = p === "same" || p === "valid" ? p : pair(p, "Conv2d: padding");
    this.dilation = pair(options.dilation ?? 1, "Conv2d: dilation");
    this.groups = groups;
    this.paddingMode = options.paddingMode ?? "zeros";
    if (!["zeros", "reflect", "replicate", "circular"].includes(this.paddingMode)) {
      throw new Error(
        `Conv2d: paddingMode must be "zeros", "reflect", "replicate" or "circular", got "${this.paddingMode}"`,
      );
    }
    // Validates "same" with strides at construction, as PyTorch does.
    resolvePads(this.padding, this.kernelSize, this.stride, this.dilation, "Conv2d");
    this.weight = emptyParameter([outChannels, inChannels / groups, ...this.kernelSize]);
    this.bias = (options.bias ?? true) ? emptyParameter([outChannels]) : null;
    this.resetParameters();
  }

  resetParameters(): void {
    resetConv(this.weight, this.bias);
  }

  override forward(x: tf.Tensor): tf.Tensor {
    const c = this.inChannels;
    expectInput(
      (x.rank === 4 && x.shape[1] === c) || (x.rank === 3 && x.shape[0] === c),
      `Conv2d(${c}, ${this.outChannels})`,
      `[N, ${c}, H, W] (or unbatched [${c}, H, W])`,
      x,
    );
    const opts = { stride: this.stride, dilation: this.dilation, groups: this.groups };
    if (this.paddingMode === "zeros") return conv2d(x, this.weight, this.bias, { ...opts, padding: this.padding });
    const [t, b, l, r] = resolvePads(this.padding, this.kernelSize, this.stride, this.dilation, "Conv2d");
    return tf.tidy(() =>
      conv2d(
        fpad(x, [l, r, t, b], { mode: this.paddingMode as Exclude<PaddingMode, "zeros"> }),
        this.weight,
        this.bias,
        { ...opts, padding: 0 },
      ),
    );
  }

  override extraRepr(): string {
    let s = `${this.inChannels}, ${this.outChannels}, kernel_size=${pyTuple(this.kernelSize)}, stride=${pyTuple(this.stride)}`;
    if (typeof this.padding === "string") s += `, padding=${this.padding}`;
    else if (this.padding.some((v) => v !== 0)) s += `, padding=${pyTuple(this.padding)}`;
    if (this.dilation.some((v) => v !== 1)) s += `, dilation=${pyTuple(this.dilation)}`;
    if (this.groups !== 1) s += `, groups=${this.groups}`;
    if (!this.bias) s += ", bias=False";
    if (this.paddingMode !== "zeros") s += `, padding_mode=${this.paddingMode}`;
    return s;
  }
}

/** 1-D convolution over [N, C, L] input, like `torch.nn.Conv1d` (weight [out, in/groups, k]). */
export class Conv1d extends Module {
  weight: tf.Variable;
  bias: tf.Variable | null;
  readonly inChannels: number;
  readonly outChannels: number;
  readonly kernelSize: number;
  readonly stride: number;
  readonly padding: number | "same" | "valid";
  readonly dilation: number;
  readonly groups: number;
  readonly paddingMode: PaddingMode;

  constructor(inChannels: number, outChannels: number, kernelSize: number, options: Conv1dOptions = {}) {
    super();
    const groups = options.groups ?? 1;
    checkChannels("Conv1d", inChannels, outChannels, groups);
    this.inChannels = inChannels;
    this.outChannels = outChannels;
    this.kernelSize = kernelSize;
    this.stride = options.stride ?? 1;
    this.padding = options.padding ?? 0;
    this.dilation = options.dilation ?? 1;
    this.groups = groups;
    this.paddingMode = options.paddingMode ?? "zeros";
    resolvePads(
      typeof this.padding === "number" ? [0, this.padding] : this.padding,
      [1, kernelSize],
      [1, this.stride],
      [1, this.dilation],
      "Conv1d",
    );
    this.weight = emptyParameter([outChannels, inChannels / groups, kernelSize]);
    this.bias = (options.bias ?? true) ? emptyParameter([outChannels]) : null;
    this.resetParameters();
  }

  resetParameters(): void {
    resetConv(this.weight, this.bias);
  }

  override forward(x: tf.Tensor): tf.Tensor {
    const c = this.inChannels;
    expectInput(
      (x.rank === 3 && x.shape[1] === c) || (x.rank === 2 && x.shape[0] === c),
      `Conv1d(${c}, ${this.outChannels})`,
      `[N, ${c}, L] (or unbatched [${c}, L])`,
      x,
    );
    const opts = { stride: this.stride, dilation: this.dilation, groups: this.groups };
    if (this.paddingMode === "zeros") return conv1d(x, this.weight, this.bias, { ...opts, padding: this.padding });
    const p = typeof this.padding === "number" ? ([0, this.padding] as [number, number]) : this.padding;
    const [, , l, r] = resolvePads(p, [1, this.kernelSize], [1, this.stride], [1, this.dilation], "Conv1d");
    return tf.tidy(() =>
      conv1d(fpad(x, [l, r], { mode: this.paddingMode as Exclude<PaddingMode, "zeros"> }), this.weight, this.bias, {
        ...opts,
        padding: 0,
      }),
    );
  }

  override extraRepr(): string {
    let s = `${this.inChannels}, ${this.outChannels}, kernel_size=(${this.kernelSize},), stride=(${this.stride},)`;
    if (typeof this.padding === "string") s += `, padding=${this.padding}`;
    else if (this.padding !== 0) s += `, padding=(${this.padding},)`;
    if (this.dilation !== 1) s += `, dilation=(${this.dilation},)`;
    if (this.groups !== 1) s += `, groups=${this.groups}`;
    if (!this.bias) s += ", bias=False";
    return s;
  }
}
