import type { NamedAttrMap, TensorInfo } from "@tensorflow/tfjs-core";
import type { KernelContext } from "./kernel_context.ts";
import { runOriginal } from "./index.ts";

/**
 * `BatchMatMul` with a transposed operand as a transpose and a plain product.
 *
 * tfjs-wasm's kernel takes a slow path (outside XNNPACK's packed GEMM) whenever `transposeA` or
 * `transposeB` is set: [64,784]·[128,784]ᵀ, what every `nn.Linear` forward computes for
 * PyTorch's `[out, in]` weight, takes 5.9 ms against 0.48 ms untransposed, and the backward's
 * `dyᵀ·x` and `xᵀ·dy` products set the flags too. Transposing the flagged operand (`Transpose`,
 * transpose.ts) and multiplying without flags costs 0.6–1 ms instead (bench/matmul.ts). The
 * product is the same; only the summation order inside the GEMM may differ, within float32
 * rounding.
 */
export function batchMatMulUntransposed(ctx: KernelContext, inputs: Record<string, TensorInfo>, attrs: NamedAttrMap): TensorInfo {
  const { a, b } = inputs as { a: TensorInfo; b: TensorInfo };
  const tA = Boolean(attrs.transposeA);
  const tB = Boolean(attrs.transposeB);
  const plain = { ...attrs, transposeA: false, transposeB: false };
  const t = (x: TensorInfo) => ctx.run("Transpose", { x }, { perm: swapLastTwo(x.shape.length) });
  if (swapOperands(a, b, tA, tB)) {
    // C = (Bᵀ·Aᵀ)ᵀ: a flagged operand is already its transpose in memory.
    return t(runOriginal(ctx, "BatchMatMul", { a: tB ? b : t(b), b: tA ? a : t(a) }, plain));
  }
  return runOriginal(ctx, "BatchMatMul", { a: tA ? t(a) : a, b: tB ? t(b) : b }, plain);
}

/** Whether the shim may take the transposed form (tests and benchmarks compare the two). */
export const transposedProduct = { enabled: true };

/**
 * XNNPACK packs the right operand anew for every product whose right operand is a new tensor —
 * in training, every one — at ~3–5 ns per element, as long as a small product itself (a
 * [784,128] weight: ~0.35 ms). For `nn.Linear`'s forward x·Wᵀ (A = x [M, K], the weight [N, K]
 * flagged) the transposed form C = (W·xᵀ)ᵀ packs xᵀ (K·M values) instead of Wᵀ (K·N), needs no
 * transpose of W, and transposes x and the result: batch 64, 784 → 128, 0.81 → 0.64 ms. Taken
 * when the packing saved outweighs the two transposes (~1 ns per element, conservatively); the
 * other flag combinations measured no faster transposed (the product's speed depends on its
 * shape too). Single products only (batched ones keep tfjs's loop).
 */
function swapOperands(a: TensorInfo, b: TensorInfo, tA: boolean, tB: boolean): boolean {
  if (!transposedProduct.enabled) return false;
  if (a.shape.length !== 2 || b.shape.length !== 2 || tA || !tB) return false;
  const [M, K] = a.shape as [number, number];
  const N = b.shape[0]!;
  const PACK = 3.5;
  const MOVE = 1;
  return (K * N - K * M) * PACK > (M * K + M * N) * MOVE;
}

function swapLastTwo(rank: number): number[] {
  const perm = Array.from({ length: rank }, (_, i) => i);
  [perm[rank - 2], perm[rank - 1]] = [perm[rank - 1]!, perm[rank - 2]!];
  return perm;
}
