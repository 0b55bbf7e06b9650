import { tf } from "../../tf.ts";
import { Module } from "../module.ts";
import { parameterFrom } from "../parameter.ts";
import { groupNorm } from "../../functional/group_norm.ts";
import { pyBool, pyFloat } from "./_util.ts";

export interface GroupNormOptions {
  eps?: number;
  /** Learnable per-channel `weight` (ones) and `bias` (zeros); default true. */
  affine?: boolean;
}

/** `nn.GroupNorm(numGroups, numChannels, { eps = 1e-5, affine = true })` over [N, C, *] input. */
export class GroupNorm extends Module {
  weight: tf.Variable | null;
  bias: tf.Variable | null;
  readonly numGroups: number;
  readonly numChannels: number;
  readonly eps: number;
  readonly affine: boolean;

  constructor(numGroups: number, numChannels: number, options: GroupNormOptions = {}) {
    super();
    if (!Number.isInteger(numGroups) || numGroups < 1 || numChannels % numGroups !== 0)
      throw new Error(`GroupNorm: numChannels (${numChannels}) must be divisible by numGroups (${numGroups})`);
    this.numGroups = numGroups;
    this.numChannels = numChannels;
    this.eps = options.eps ?? 1e-5;
    this.affine = options.affine ?? true;
    this.weight = this.affine ? parameterFrom(new Float32Array(numChannels).fill(1), [numChannels]) : null;
    this.bias = this.affine ? parameterFrom(new Float32Array(numChannels), [numChannels]) : null;
  }

  resetParameters(): void {
    if (!this.affine) return;
    tf.tidy(() => {
      this.weight!.assign(tf.ones([this.numChannels]));
      this.bias!.assign(tf.zeros([this.numChannels]));
    });
  }

  override forward(x: tf.Tensor): tf.Tensor {
    if (x.rank < 2 || x.shape[1] !== this.numChannels) {
      throw new Error(
        `GroupNorm(${this.numGroups}, ${this.numChannels}): expected input of shape [N, ${this.numChannels}, *], got [${x.shape.join(", ")}]`,
      );
    }
    return groupNorm(x, this.numGroups, { weight: this.weight, bias: this.bias, eps: this.eps });
  }

  override extraRepr(): string {
    return `${this.numGroups}, ${this.numChannels}, eps=${pyFloat(this.eps)}, affine=${pyBool(this.affine)}`;
  }
}
