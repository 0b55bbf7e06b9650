import { tf } from "../tf.ts";
import { asLowerPrecisionOp, roundingMode } from "../amp/kernel_rounding.ts";
import { LINEAR } from "../backends/kernels/linear.ts";
import { findKernel } from "../backends/kernel_lookup.ts";
import { adoptResult } from "../autograd/lifetime.ts";
import { shapeStr } from "./_util.ts";

/**
 * `y = x W^T + b` with PyTorch's weight layout `[out, in]`. Any number of leading dimensions
 * is allowed (`[*, in] -> [*, out]`); they are folded into one for the matmul, whose
 * `transposeB` flag reads W^T without materialising it.
 */
export function linear(x: tf.Tensor, weight: tf.Tensor, bias?: tf.Tensor | null): tf.Tensor {
  if (weight.rank !== 2)
    throw new Error(`linear(): weight must be [out_features, in_features], got ${shapeStr(weight.shape)}`);
  const [outF, inF] = weight.shape;
  if (x.rank === 0 || x.shape[x.rank - 1] !== inF) {
    throw new Error(`linear(): expected input of shape [*, ${inF}], got ${shapeStr(x.shape)}`);
  }
  if (bias != null && (bias.rank !== 1 || bias.shape[0] !== outF)) {
    throw new Error(`linear(): bias must have shape [${outF}], got ${shapeStr(bias.shape)}`);
  }
  // One kernel, as addmm, where the backend has it (linear.ts); 16-bit emulation rounds each
  // of tfjs's kernels, so it keeps them.
  const fused =
    roundingMode() === null &&
    findKernel(LINEAR, tf.getBackend()) !== undefined &&
    x.dtype === "float32" &&
    weight.dtype === "float32" &&
    (bias == null || bias.dtype === "float32");
  const run = (x2: tf.Tensor) =>
    tf.engine().runKernel(LINEAR, bias != null ? { x: x2, weight, bias } : { x: x2, weight }) as tf.Tensor;
  // A [N, in] input makes nothing to clean up: no tidy, whose scope costs more than the bias
  // add. (A kernel's output is tracked while the kernel runs, which the collector does not see:
  // an op's scope re-tracks it as it ends; here adoptResult does.)
  if (fused && x.rank === 2) return adoptResult(run(x));
  return tf.tidy(() => {
    const x2 = x.rank === 2 ? x : tf.reshape(x, [-1, inF]);
    // One 16-bit op under autocast: product + bias rounded once, as addmm.
    const y = fused
      ? run(x2)
      : asLowerPrecisionOp(() => {
          const product = tf.matMul(x2, weight, false, true);
          return bias != null ? tf.add(product, bias) : product;
        });
    return x.rank === 2 ? y : tf.reshape(y, [...x.shape.slice(0, -1), outF]);
  });
}
