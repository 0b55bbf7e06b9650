import { tf } from "../../tf.ts";
import { Module } from "../module.ts";
import { emptyParameter } from "../parameter.ts";
import { resetConv } from "./conv.ts";
import { convTranspose2d, convTransposeOutputSize } from "../../functional/conv_transpose.ts";
import { pair, type IntPair } from "../../functional/_util.ts";
import { expectInput, pyTuple } from "./_util.ts";

export interface ConvTranspose2dOptions {
  stride?: IntPair;
  padding?: IntPair;
  outputPadding?: IntPair;
  /** Only 1 is supported. */
  groups?: number;
  bias?: boolean;
  dilation?: IntPair;
}

/**
 * `nn.ConvTranspose2d` over NCHW input: weight [in, out, kh, kw] (PyTorch's layout, groups = 1),
 * bias [out], PyTorch's `_ConvNd` initialisation. The fan-in of that layout is dim 1, so the
 * kaiming / bias bounds use out * kh * kw, as in PyTorch.
 */
export class ConvTranspose2d extends Module {
  weight: tf.Variable;
  bias: tf.Variable | null;
  readonly inChannels: number;
  readonly outChannels: number;
  readonly kernelSize: [number, number];
  readonly stride: [number, number];
  readonly padding: [number, number];
  readonly outputPadding: [number, number];
  readonly dilation: [number, number];
  readonly groups: number;

  constructor(inChannels: number, outChannels: number, kernelSize: IntPair, options: ConvTranspose2dOptions = {}) {
    super();
    const groups = options.groups ?? 1;
    if (groups !== 1) throw new Error(`ConvTranspose2d: groups=${groups} is not supported (only groups=1)`);
    for (const [name, v] of [
      ["inChannels", inChannels],
      ["outChannels", outChannels],
    ] as const) {
      if (!Number.isInteger(v) || v < 1)
        throw new Error(`ConvTranspose2d: ${name} must be a positive integer, got ${v}`);
    }
    this.inChannels = inChannels;
    this.outChannels = outChannels;
    this.kernelSize = pair(kernelSize, "ConvTranspose2d: kernelSize");
    this.stride = pair(options.stride ?? 1, "ConvTranspose2d: stride");
    this.padding = pair(options.padding ?? 0, "ConvTranspose2d: padding");
    this.outputPadding = pair(options.outputPadding ?? 0, "ConvTranspose2d: outputPadding");
    this.dilation = pair(options.dilation ?? 1, "ConvTranspose2d: dilation");
    this.groups = groups;
    for (let d = 0; d < 2; d++) {
      if (!(this.outputPadding[d] < this.stride[d] || this.outputPadding[d] < this.dilation[d]))
        throw new Error("ConvTranspose2d: output padding must be smaller than either stride or dilation");
    }
    this.weight = emptyParameter([inChannels, outChannels / groups, ...this.kernelSize]);
    this.bias = (options.bias ?? true) ? emptyParameter([outChannels]) : null;
    this.resetParameters();
  }

  resetParameters(): void {
    resetConv(this.weight, this.bias);
  }

  /**
   * `outputSize` ([H, W], or with leading N, C) picks the output padding that gives that size,
   * as PyTorch's `forward(input, output_size)` does.
   */
  override forward(x: tf.Tensor, outputSize?: number[]): tf.Tensor {
    const c = this.inChannels;
    expectInput(
      (x.rank === 4 && x.shape[1] === c) || (x.rank === 3 && x.shape[0] === c),
      `ConvTranspose2d(${c}, ${this.outChannels})`,
      `[N, ${c}, H, W] (or unbatched [${c}, H, W])`,
      x,
    );
    let outputPadding = this.outputPadding;
    if (outputSize) {
      const size = outputSize.slice(-2);
      const hw = x.shape.slice(-2) as number[];
      outputPadding = [0, 1].map((d) => {
        const min = convTransposeOutputSize(
          hw[d],
          this.kernelSize[d],
          this.stride[d],
          this.padding[d],
          this.dilation[d],
          0,
        );
        const extra = size[d] - min;
        if (!(extra >= 0 && extra < Math.max(this.stride[d], this.dilation[d]))) {
          throw new Error(
            `ConvTranspose2d: requested an output size of ${JSON.stringify(size)}, but valid sizes range from [${min}] to [${min + Math.max(this.stride[d], this.dilation[d]) - 1}] in dimension ${d}`,
          );
        }
        return extra;
      }) as [number, number];
    }
    return convTranspose2d(x, this.weight, this.bias, {
      stride: this.stride,
      padding: this.padding,
      outputPadding,
      dilation: this.dilation,
    });
  }

  override extraRepr(): string {
    let s = `${this.inChannels}, ${this.outChannels}, kernel_size=${pyTuple(this.kernelSize)}, stride=${pyTuple(this.stride)}`;
    if (this.padding.some((v) => v !== 0)) s += `, padding=${pyTuple(this.padding)}`;
    if (this.dilation.some((v) => v !== 1)) s += `, dilation=${pyTuple(this.dilation)}`;
    if (this.outputPadding.some((v) => v !== 0)) s += `, output_padding=${pyTuple(this.outputPadding)}`;
    if (!this.bias) s += ", bias=False";
    return s;
  }
}
