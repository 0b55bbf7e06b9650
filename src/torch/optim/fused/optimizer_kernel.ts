/**
 * What the fused optimizer steps (sgd_step.ts, adadelta_step.ts) share: when a step may run as a
 * kernel, and the kernel's registration on the backends that have it (WASM and pure JS), on first
 * use.
 */
import type { NamedAttrMap, TensorInfo } from "@tensorflow/tfjs-core";
import { tf } from "../../tf.ts";
import { shimKernel, type KernelContext } from "../../backends/kernels/kernel_context.ts";
import { findKernel } from "../../backends/kernel_lookup.ts";
import { roundingMode } from "../../amp/kernel_rounding.ts";
import { fusedOptimizersDisabled } from "./fused_switch.ts";

const BACKENDS = new Set(["wasm", "cpu"]);

type Body = (ctx: KernelContext, inputs: Record<string, TensorInfo>, attrs: NamedAttrMap) => TensorInfo | TensorInfo[];

/**
 * Whether `param`'s update may run as the kernel `kernelName` (registering it if need be): not
 * under 16-true emulation, where every op of the update is rounded to 16 bits (the op chain,
 * whose kernels round, computes that), nor for other dtypes or backends, nor while disabled.
 */
export function fusedStepAvailable(kernelName: string, body: Body, param: tf.Tensor, grad: tf.Tensor): boolean {
  if (roundingMode()?.scope === "all" || fusedOptimizersDisabled()) return false;
  if (param.dtype !== "float32" || grad.dtype !== "float32") return false;
  const backendName = tf.getBackend();
  if (!BACKENDS.has(backendName)) return false;
  if (!findKernel(kernelName, backendName)) {
    tf.registerKernel({ kernelName, backendName, kernelFunc: shimKernel(backendName, body) as tf.KernelFunc });
  }
  return true;
}
