import type { NamedAttrMap, TensorInfo } from "@tensorflow/tfjs-core";
import type { KernelContext } from "./kernel_context.ts";
import { originalKernel } from "./index.ts";

/**
 * `BatchMatMul` with a transposed operand as a transpose and a plain product.
 *
 * tfjs-wasm's kernel takes a slow path (outside XNNPACK's packed GEMM) whenever `transposeA` or
 * `transposeB` is set: [64,784]·[128,784]ᵀ, what every `nn.Linear` forward computes for
 * PyTorch's `[out, in]` weight, takes 5.9 ms against 0.48 ms untransposed, and the backward's
 * `dyᵀ·x` and `xᵀ·dy` products set the flags too. Transposing the flagged operand with the
 * backend's own `Transpose` (XNNPACK) and multiplying without flags costs 0.9–1.6 ms instead
 * (bench/matmul.ts). The product is the same; only the summation order inside the GEMM may
 * differ, within float32 rounding.
 */
export function batchMatMulUntransposed(ctx: KernelContext, inputs: Record<string, TensorInfo>, attrs: NamedAttrMap): TensorInfo {
  const original = originalKernel("BatchMatMul", ctx.backendName);
  if (!original) throw new Error(`lightning-ts: tfjs's BatchMatMul for '${ctx.backendName}' is not registered`);
  let { a, b } = inputs;
  if (attrs.transposeA) a = ctx.run("Transpose", { x: a! }, { perm: swapLastTwo(a!.shape.length) });
  if (attrs.transposeB) b = ctx.run("Transpose", { x: b! }, { perm: swapLastTwo(b!.shape.length) });
  return ctx.runConfig(original, { a: a!, b: b! }, { ...attrs, transposeA: false, transposeB: false });
}

function swapLastTwo(rank: number): number[] {
  const perm = Array.from({ length: rank }, (_, i) => i);
  [perm[rank - 2], perm[rank - 1]] = [perm[rank - 1]!, perm[rank - 2]!];
  return perm;
}
