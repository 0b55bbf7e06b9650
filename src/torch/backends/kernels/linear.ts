import type { TensorInfo } from "@tensorflow/tfjs-core";
import { tf } from "../../tf.ts";
import type { KernelContext } from "./kernel_context.ts";
import { WasmHeapModule } from "../wasm_heap_module.ts";
import { BIAS_ADD_SIMD_WASM } from "./bias_add_simd_wasm.ts";

const simd = new WasmHeapModule<{ biasAdd(y: number, b: number, m: number, n: number): void }>(BIAS_ADD_SIMD_WASM);

/**
 * `F.linear` (`x·Wᵀ + b`, [M, K] × [N, K] → [M, N]) as one kernel, PyTorch's `addmm`: tfjs's ops
 * take a product and an add, the tape saving four tensors for them, and backward the add's
 * broadcast gradient is a reshape, a sum and a reshape. Here the tape saves x and W, and the
 * gradients are the two products and one sum. Each kernel a step dispatches costs ~5–10 µs of
 * dispatch and tape work around it: the MLP benchmark's step runs 25 instead of 35
 * (bench/kernel_share.ts).
 *
 * The arithmetic is the ops' own: the product is the `BatchMatMul` kernel (batch_mat_mul.ts) and
 * the bias is added in float32 as `Add` adds it (bias_add_simd.wat on WASM), so a run gives the same bits with or without
 * this kernel.
 */
export const LINEAR = "LightningTsLinear";

/** y = x·Wᵀ (+ b): inputs `x` [M, K], `weight` [N, K], optional `bias` [N]. */
export function linear(ctx: KernelContext, inputs: Record<string, TensorInfo>): TensorInfo {
  const y = ctx.run("BatchMatMul", { a: inputs.x!, b: inputs.weight! }, { transposeA: false, transposeB: true });
  if (inputs.bias === undefined) return y;
  // In place: y is this kernel's own, and nothing allocates after these arrays are taken.
  const out = ctx.values(y) as Float32Array;
  const b = ctx.floats(inputs.bias);
  const n = b.length;
  const exports = simd.exportsFor(out, b);
  if (exports !== null) {
    exports.biasAdd(out.byteOffset, b.byteOffset, out.length / n, n);
    return y;
  }
  for (let i = 0; i < out.length; i += n) {
    for (let j = 0; j < n; j++) out[i + j] = out[i + j]! + b[j]!;
  }
  return y;
}

/** The gradient of LINEAR, for the tape (and tfjs's own `tf.grad`): registered with the kernels. */
export const linearGradient: tf.GradConfig = {
  kernelName: LINEAR,
  inputsToSave: ["x", "weight"],
  gradFunc: (dy, saved) => {
    const [x, weight] = saved as [tf.Tensor, tf.Tensor];
    const g = dy as tf.Tensor;
    return {
      x: () => tf.matMul(g, weight),
      weight: () => tf.matMul(g, x, true, false),
      bias: () => tf.sum(g, 0),
    };
  },
};
