import type { NamedAttrMap, TensorInfo } from "@tensorflow/tfjs-core";
import { tf } from "../../tf.ts";
import type { KernelContext } from "./kernel_context.ts";
import { findKernel } from "../kernel_lookup.ts";
import { WasmHeapModule } from "../wasm_heap_module.ts";
import { RELU_GRAD_SIMD_WASM } from "./relu_grad_simd_wasm.ts";

/**
 * ReLU's gradient on WASM as one kernel: tfjs's is `dy · cast(step(x))`, three kernels and two
 * tensors of the activation's size (the benchmark CNN's first ReLU: 1.6M elements, ~1.4 ms per
 * step between them). The values are that chain's, element for element (relu_grad_simd.wat).
 */
export const RELU_GRAD = "LightningTsReluGrad";

const simd = new WasmHeapModule<{ reluGrad(...args: number[]): void }>(RELU_GRAD_SIMD_WASM);

export function reluGrad(ctx: KernelContext, inputs: Record<string, TensorInfo>, _attrs: NamedAttrMap): TensorInfo {
  const out = ctx.empty(inputs.x!.shape, "float32");
  const x = ctx.floats(inputs.x!);
  const dy = ctx.floats(inputs.dy!);
  const dx = ctx.values(out) as Float32Array;
  const exports = simd.exportsFor(x, dy, dx);
  if (exports !== null) {
    exports.reluGrad(x.byteOffset, dy.byteOffset, dx.byteOffset, dx.length);
    return out;
  }
  for (let i = 0; i < dx.length; i++) dx[i] = x[i]! > 0 ? dy[i]! : x[i] !== x[i] ? NaN : dy[i]! * 0;
  return out;
}

/**
 * tfjs's gradient of `Relu`, with the chain as one kernel where the backend has it (WASM);
 * elsewhere tfjs's own chain.
 */
export const reluGradient: tf.GradConfig = {
  kernelName: "Relu",
  inputsToSave: ["x"],
  gradFunc: (dy, saved) => {
    const [x] = saved as [tf.Tensor];
    const g = dy as tf.Tensor;
    if (findKernel(RELU_GRAD, tf.getBackend()) !== undefined && g.dtype === "float32" && x.dtype === "float32") {
      return { x: () => tf.engine().runKernel(RELU_GRAD, { dy: g, x }) as tf.Tensor };
    }
    return { x: () => tf.mul(g, tf.cast(tf.step(x), "float32")) };
  },
};
