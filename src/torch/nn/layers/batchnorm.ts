import { tf } from "../../tf.ts";
import { noGrad } from "../../autograd/grad_mode.ts";
import { batchNorm } from "../../functional/normalization.ts";
import { shapeStr } from "./_util.ts";
import { NormBase, type NormBaseOptions } from "./norm_base.ts";

/** `affine` and `trackRunningStats` default to true. */
export type BatchNormOptions = NormBaseOptions;

/**
 * The shared batch-norm layer (parameters and buffers in NormBase).
 *
 * Training: batch statistics normalise the batch, and the running statistics move by
 * `momentum` toward the batch mean and the *unbiased* batch variance. Eval: the running
 * statistics are used (batch statistics when `trackRunningStats` is false).
 */
abstract class BatchNormBase extends NormBase {
  constructor(numFeatures: number, options: BatchNormOptions = {}) {
    super(numFeatures, options, { affine: true, trackRunningStats: true });
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
