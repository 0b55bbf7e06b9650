import { tf } from "../../tf";
import { Module } from "../module";
import { noGrad } from "../../autograd/grad_mode";
import { parameterFrom, bufferFrom } from "../parameter";
import { instanceNorm } from "../../functional/instance_norm";
import { pyBool, pyFloat, shapeStr } from "./_util";

export interface InstanceNormOptions {
  eps?: number;
  momentum?: number;
  /** Learnable per-channel `weight` (ones) and `bias` (zeros); default false. */
  affine?: boolean;
  /** Keep running mean/variance for evaluation; default false. */
  trackRunningStats?: boolean;
}

/**
 * `nn.InstanceNorm2d(numFeatures, { eps = 1e-5, momentum = 0.1, affine = false,
 * trackRunningStats = false })` over [N, C, H, W] (or unbatched [C, H, W]) input. Buffers use
 * PyTorch's names (`running_mean`, `running_var`, `num_batches_tracked`) for state-dict keys.
 */
export class InstanceNorm2d extends Module {
  weight: tf.Variable | null;
  bias: tf.Variable | null;
  running_mean: tf.Variable | null = null;
  running_var: tf.Variable | null = null;
  num_batches_tracked: tf.Variable | null = null;
  readonly numFeatures: number;
  readonly eps: number;
  readonly momentum: number;
  readonly affine: boolean;
  readonly trackRunningStats: boolean;

  constructor(numFeatures: number, options: InstanceNormOptions = {}) {
    super();
    if (!Number.isInteger(numFeatures) || numFeatures < 1)
      throw new Error(`InstanceNorm2d: numFeatures must be a positive integer, got ${numFeatures}`);
    this.numFeatures = numFeatures;
    this.eps = options.eps ?? 1e-5;
    this.momentum = options.momentum ?? 0.1;
    this.affine = options.affine ?? false;
    this.trackRunningStats = options.trackRunningStats ?? false;
    this.weight = this.affine ? parameterFrom(new Float32Array(numFeatures).fill(1), [numFeatures]) : null;
    this.bias = this.affine ? parameterFrom(new Float32Array(numFeatures), [numFeatures]) : null;
    if (this.trackRunningStats) {
      this.registerBuffer("running_mean", bufferFrom(tf.zeros([numFeatures])));
      this.registerBuffer("running_var", bufferFrom(tf.ones([numFeatures])));
      this.registerBuffer("num_batches_tracked", bufferFrom(tf.scalar(0, "int32")));
    }
  }

  get runningMean(): tf.Variable | null {
    return this.running_mean;
  }

  get runningVar(): tf.Variable | null {
    return this.running_var;
  }

  resetRunningStats(): void {
    if (!this.trackRunningStats) return;
    noGrad(() =>
      tf.tidy(() => {
        this.running_mean!.assign(tf.zeros([this.numFeatures]));
        this.running_var!.assign(tf.ones([this.numFeatures]));
        this.num_batches_tracked!.assign(tf.scalar(0, "int32"));
      }),
    );
  }

  resetParameters(): void {
    this.resetRunningStats();
    if (!this.affine) return;
    tf.tidy(() => {
      this.weight!.assign(tf.ones([this.numFeatures]));
      this.bias!.assign(tf.zeros([this.numFeatures]));
    });
  }

  override forward(x: tf.Tensor): tf.Tensor {
    if (x.rank !== 4 && x.rank !== 3)
      throw new Error(`InstanceNorm2d: expected 3D or 4D input (got ${x.rank}D input, shape ${shapeStr(x.shape)})`);
    const run = (x4: tf.Tensor) =>
      instanceNorm(x4, {
        runningMean: this.running_mean,
        runningVar: this.running_var,
        weight: this.weight,
        bias: this.bias,
        useInputStats: this.training || !this.trackRunningStats,
        momentum: this.momentum,
        eps: this.eps,
      });
    if (x.rank === 4) return run(x);
    return tf.tidy(() => tf.squeeze(run(tf.expandDims(x, 0)), [0]));
  }

  override extraRepr(): string {
    return `${this.numFeatures}, eps=${pyFloat(this.eps)}, momentum=${pyFloat(this.momentum)}, affine=${pyBool(this.affine)}, track_running_stats=${pyBool(this.trackRunningStats)}`;
  }
}
