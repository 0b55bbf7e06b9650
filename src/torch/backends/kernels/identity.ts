import type { NamedAttrMap, TensorInfo } from "@tensorflow/tfjs-core";
import type { KernelContext } from "./kernel_context.ts";
import { runOriginal } from "./index.ts";

/**
 * `Identity` on WASM shares its input's data, as the pure-JS backend's does (a reshape to the
 * same shape: one more reference to the buffer). tfjs's WASM kernel copies it, and tfjs calls
 * Identity for every tensor the tape saves for the backward (`engine.clone`): the benchmark CNN
 * copied 26 tensors per step, ~3 ms. Tensor data is never written after the kernel that made it
 * returns (lightning-ts's kernels write only what they allocate; 16-bit rounding rounds in place
 * only data an op has just made, never an input's, which a reshape already shares the same way),
 * so a shared buffer reads as a copy would.
 */
export function identityShared(ctx: KernelContext, inputs: Record<string, TensorInfo>, attrs: NamedAttrMap): TensorInfo {
  const x = inputs.x!;
  if (x.dtype === "string" || x.dtype === "complex64") return runOriginal(ctx, "Identity", inputs, attrs);
  return ctx.run("Reshape", { x }, { shape: [...x.shape] });
}
