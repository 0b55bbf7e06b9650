import { tf } from "../../tf.ts";
import { Module } from "../module.ts";
import { noGrad } from "../../autograd/grad_mode.ts";
import { parameterFrom, bufferFrom } from "../parameter.ts";
import { pyBool, pyFloat } from "./_util.ts";

export interface NormBaseOptions {
  eps?: number;
  /** Weight of each batch in the running averages; `null` = cumulative moving average. */
  momentum?: number | null;
  /** Learnable per-channel scale (`weight`, ones) and shift (`bias`, zeros). */
  affine?: boolean;
  /** Keep running mean/variance buffers for evaluation. */
  trackRunningStats?: boolean;
}

/**
 * What the batch and instance norms share, as PyTorch's `_NormBase`: the per-channel affine
 * parameters and the running statistics. Buffers are registered under PyTorch's names
 * (`running_mean`, `running_var`, `num_batches_tracked`) so state-dict keys match a PyTorch
 * checkpoint; the camelCase getters are the same variables.
 */
export abstract class NormBase extends Module {
  weight: tf.Variable | null;
  bias: tf.Variable | null;
  running_mean: tf.Variable | null = null;
  running_var: tf.Variable | null = null;
  num_batches_tracked: tf.Variable | null = null;
  readonly numFeatures: number;
  readonly eps: number;
  readonly momentum: number | null;
  readonly affine: boolean;
  readonly trackRunningStats: boolean;

  /** `defaults`: the subclass's PyTorch defaults for `affine` and `trackRunningStats`. */
  constructor(numFeatures: number, options: NormBaseOptions, defaults: { affine: boolean; trackRunningStats: boolean }) {
    super();
    if (!Number.isInteger(numFeatures) || numFeatures < 1)
      throw new Error(`${this.constructor.name}: numFeatures must be a positive integer, got ${numFeatures}`);
    this.numFeatures = numFeatures;
    this.eps = options.eps ?? 1e-5;
    this.momentum = options.momentum === undefined ? 0.1 : options.momentum;
    this.affine = options.affine ?? defaults.affine;
    this.trackRunningStats = options.trackRunningStats ?? defaults.trackRunningStats;
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

  get numBatchesTracked(): tf.Variable | null {
    return this.num_batches_tracked;
  }

  /** Running mean 0, running variance 1, batch count 0. */
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
    if (this.affine) {
      tf.tidy(() => {
        this.weight!.assign(tf.ones([this.numFeatures]));
        this.bias!.assign(tf.zeros([this.numFeatures]));
      });
    }
  }

  override extraRepr(): string {
    return `${this.numFeatures}, eps=${pyFloat(this.eps)}, momentum=${this.momentum == null ? "None" : pyFloat(this.momentum)}, affine=${pyBool(this.affine)}, track_running_stats=${pyBool(this.trackRunningStats)}`;
  }
}
