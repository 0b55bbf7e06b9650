import { tf } from "../../tf";
import { Module } from "../module";
import { noGrad } from "../../autograd/grad_mode";
import { parameterFrom, bufferFrom } from "../parameter";
import { batchNorm } from "../../functional/normalization";
import { pyBool, pyFloat, shapeStr } from "./_util";

export interface BatchNormOptions {
  eps?: number;
  /** Weight of each batch in the running averages; `null` = cumulative moving average. */
  momentum?: number | null;
  /** Learnable per-channel scale (`weight`, ones) and shift (`bias`, zeros). */
  affine?: boolean;
  /** Keep running mean/variance buffers for evaluation (default true). */
  trackRunningStats?: boolean;
}

/**
 * The shared batch-norm layer. Buffers are registered under PyTorch's names (`running_mean`,
 * `running_var`, `num_batches_tracked`) so state-dict keys match a PyTorch checkpoint; the
 * camelCase getters are the same variables.
 *
 * Training: batch statistics normalise the batch, and the running statistics move by
 * `momentum` toward the batch mean and the *unbiased* batch variance. Eval: the running
 * statistics are used (batch statistics when `trackRunningStats` is false).
 */
abstract class BatchNormBase extends Module {
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

  constructor(numFeatures: number, options: BatchNormOptions = {}) {
    super();
    if (!Number.isInteger(numFeatures) || numFeatures < 1)
      throw new Error(`${this.constructor.name}: numFeatures must be a positive integer, got ${numFeatures}`);
    this.numFeatures = numFeatures;
    this.eps = options.eps ?? 1e-5;
    this.momentum = options.momentum === undefined ? 0.1 : options.momentum;
    this.affine = options.affine ?? true;
    this.trackRunningStats = options.trackRunningStats ?? true;
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

  protected abstract checkInput(x: tf.Tensor): void;

  override forward(x: tf.Tensor): tf.Tensor {
    this.checkInput(x);
    let factor = this.momentum ?? 0;
    if (this.training && this.trackRunningStats && this.num_batches_tracked) {
      const nbt = this.num_batches_tracked;
      noGrad(() => tf.tidy(() => nbt.assign(tf.add(nbt, tf.scalar(1, "int32")))));
      // momentum = null: cumulative moving average, weight 1 / (batches seen).
      if (this.momentum === null) factor = 1 / nbt.dataSync()[0];
    }
    const useBatchStats = this.training || this.running_mean == null;
    const track = !this.training || this.trackRunningStats;
    return batchNorm(x, track ? this.running_mean : null, track ? this.running_var : null, {
      weight: this.weight,
      bias: this.bias,
      training: useBatchStats,
      momentum: factor,
      eps: this.eps,
    });
  }

  override extraRepr(): string {
    return `${this.numFeatures}, eps=${pyFloat(this.eps)}, momentum=${this.momentum == null ? "None" : pyFloat(this.momentum)}, affine=${pyBool(this.affine)}, track_running_stats=${pyBool(this.trackRunningStats)}`;
  }
}

/** `nn.BatchNorm1d(numFeatures)`: input [N, C] or [N, C, L]. */
export class BatchNorm1d extends BatchNormBase {
  protected override checkInput(x: tf.Tensor): void {
    const c = this.numFeatures;
    if (!((x.rank === 2 || x.rank === 3) && x.shape[1] === c)) {
      throw new Error(`BatchNorm1d(${c}): expected input of shape [N, ${c}] or [N, ${c}, L], got ${shapeStr(x.shape)}`);
    }
  }
}

/** `nn.BatchNorm2d(numFeatures)`: input [N, C, H, W]. */
export class BatchNorm2d extends BatchNormBase {
  protected override checkInput(x: tf.Tensor): void {
    const c = this.numFeatures;
    if (!(x.rank === 4 && x.shape[1] === c)) {
      throw new Error(`BatchNorm2d(${c}): expected input of shape [N, ${c}, H, W], got ${shapeStr(x.shape)}`);
    }
  }
}
