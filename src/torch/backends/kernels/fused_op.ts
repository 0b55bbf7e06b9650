import { tf } from "../../tf.ts";
import { roundingMode } from "../../amp/kernel_rounding.ts";
import { findKernel } from "../kernel_lookup.ts";

/**
 * Whether an op may run as the fused kernel `kernelName` (cross-entropy, log-softmax, the
 * normalisations, the recurrent steps, the optimizers' updates) instead of its chain of tfjs
 * ops: the current backend has the kernel, and no 16-bit emulation rounds every op's output
 * (16-true / bf16-true), which only the op chain, each of whose kernels rounds, reproduces.
 * The caller checks the dtypes the kernel takes.
 */
export function fusedKernelApplies(kernelName: string): boolean {
  return roundingMode()?.scope !== "all" && findKernel(kernelName, tf.getBackend()) !== undefined;
}
