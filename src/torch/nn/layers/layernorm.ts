import { tf } from "../../tf.ts";
import { Module } from "../module.ts";
import { parameterFrom } from "../parameter.ts";
import { layerNorm } from "../../functional/normalization.ts";
import { pyBool, pyFloat, pyTuple, shapeStr } from "./_util.ts";

export interface LayerNormOptions {
  eps?: number;
  /** Learnable element-wise `weight` (ones) and `bias` (zeros) of `normalizedShape`. */
  elementwiseAffine?: boolean;
  /** With `elementwiseAffine`, also learn the bias (default true). */
  bias?: boolean;
}

/**
 * `nn.LayerNorm(normalizedShape)`: normalises over the trailing `normalizedShape` dimensions
 * of each sample with the biased variance, then applies the element-wise affine.
 */
export class LayerNorm extends Module {
  weight: tf.Variable | null;
  bias: tf.Variable | null;
  readonly normalizedShape: number[];
  readonly eps: number;
  readonly elementwiseAffine: boolean;

  constructor(normalizedShape: number | number[], options: LayerNormOptions = {}) {
    super();
    this.normalizedShape = typeof normalizedShape === "number" ? [normalizedShape] : [...normalizedShape];
    if (!this.normalizedShape.every((d) => Number.isInteger(d) && d > 0)) {
      throw new Error(`LayerNorm: normalizedShape must be positive integers, got ${JSON.stringify(normalizedShape)}`);
    }
    this.eps = options.eps ?? 1e-5;
    this.elementwiseAffine = options.elementwiseAffine ?? true;
    const size = this.normalizedShape.reduce((a, b) => a * b, 1);
    this.weight = this.elementwiseAffine ? parameterFrom(new Float32Array(size).fill(1), this.normalizedShape) : null;
    this.bias =
      this.elementwiseAffine && (options.bias ?? true)
        ? parameterFrom(new Float32Array(size), this.normalizedShape)
        : null;
  }

  override forward(x: tf.Tensor): tf.Tensor {
    const k = this.normalizedShape.length;
    if (x.rank < k || !tf.util.arraysEqual(x.shape.slice(x.rank - k), this.normalizedShape)) {
      throw new Error(
        `LayerNorm(${pyTuple(this.normalizedShape)}): expected input of shape [*, ${this.normalizedShape.join(", ")}], got ${shapeStr(x.shape)}`,
      );
    }
    return layerNorm(x, this.normalizedShape, { weight: this.weight, bias: this.bias, eps: this.eps });
  }

  override extraRepr(): string {
    return `${pyTuple(this.normalizedShape)}, eps=${pyFloat(this.eps)}, elementwise_affine=${pyBool(this.elementwiseAffine)}`;
  }
}
