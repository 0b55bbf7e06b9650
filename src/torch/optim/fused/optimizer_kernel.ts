/**
 * What the fused optimizer steps (adam_step.ts, sgd_step.ts, adadelta_step.ts) share: when a step may run as a
 * kernel, and the kernel's registration on the backends that have it (WASM and pure JS), on first
 * use.
 */
import type { NamedAttrMap, TensorInfo } from "@tensorflow/tfjs-core";
import { tf } from "../../tf.ts";
import { shimKernel, type KernelContext } from "../../backends/kernels/kernel_context.ts";
import { findKernel } from "../../backends/kernel_lookup.ts";
import { fusedKernelApplies } from "../../backends/kernels/fused_op.ts";
import { fusedOptimizersDisabled } from "./fused_switch.ts";

const BACKENDS = new Set(["wasm", "cpu"]);

type Body = (ctx: KernelContext, inputs: Record<string, TensorInfo>, attrs: NamedAttrMap) => TensorInfo | TensorInfo[];

/**
 * Whether `param`'s update may run as the kernel `kernelName`, registering it on first use: as
 * any fused kernel (`fusedKernelApplies`: not under 16-true emulation, where every op of the
 * update is rounded to 16 bits), for float32 on WASM and pure JS, unless disabled.
 */
export function fusedStepAvailable(kernelName: string, body: Body, param: tf.Tensor, grad: tf.Tensor): boolean {
  if (fusedOptimizersDisabled() || param.dtype !== "float32" || grad.dtype !== "float32") return false;
  const backendName = tf.getBackend();
  if (!BACKENDS.has(backendName)) return false;
  if (!findKernel(kernelName, backendName)) {
    tf.registerKernel({ kernelName, backendName, kernelFunc: shimKernel(backendName, body) as tf.KernelFunc });
  }
  return fusedKernelApplies(kernelName);
}
