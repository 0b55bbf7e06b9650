import { tf } from "../../tf.ts";
import { instanceNorm } from "../../functional/instance_norm.ts";
import { shapeStr } from "./_util.ts";
import { NormBase } from "./norm_base.ts";

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
 * trackRunningStats = false })` over [N, C, H, W] (or unbatched [C, H, W]) input; parameters and
 * buffers as the batch norms' (NormBase).
 */
export class InstanceNorm2d extends NormBase {
  declare readonly momentum: number;

  constructor(numFeatures: number, options: InstanceNormOptions = {}) {
    super(numFeatures, options, { affine: false, trackRunningStats: false });
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
}
