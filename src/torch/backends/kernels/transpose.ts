import type { NamedAttrMap, TensorInfo } from "@tensorflow/tfjs-core";
import type { KernelContext } from "./kernel_context.ts";
import { runOriginal } from "./index.ts";
import { WasmHeapModule } from "../wasm_heap_module.ts";
import { TRANSPOSE_SIMD_WASM } from "./transpose_simd_wasm.ts";

const simd = new WasmHeapModule<{ transpose2d(...args: number[]): void }>(TRANSPOSE_SIMD_WASM);

/**
 * `Transpose` on WASM for the permutations that are a batched 2-D transpose — NCHW ⇄ NHWC
 * around every convolution, a matrix's `.t()` — in WebAssembly SIMD 4×4 blocks
 * (transpose_simd.wat); tfjs's kernel moves one value at a time (the benchmark CNN's
 * [64,28,28,32] → NCHW: 2.9 → 0.9 ms). Other permutations and dtypes, and matrices narrower
 * than a block, go to tfjs's kernel. A move: the values are the same bits either way.
 */
export function transposeBlocks(ctx: KernelContext, inputs: Record<string, TensorInfo>, attrs: NamedAttrMap): TensorInfo {
  const x = inputs.x!;
  const perm = attrs.perm as number[];
  const planes = x.dtype === "float32" || x.dtype === "int32" ? asBatchedMatrices(x.shape, perm) : null;
  if (planes !== null && planes.rows >= 4 && planes.cols >= 4) {
    const out = ctx.empty(perm.map((p) => x.shape[p]!), x.dtype as "float32" | "int32");
    const src = ctx.values(x) as Float32Array | Int32Array;
    const dst = ctx.values(out) as Float32Array | Int32Array;
    const exports = simd.exportsFor(src, dst);
    if (exports !== null) {
      exports.transpose2d(src.byteOffset, dst.byteOffset, planes.batches, planes.rows, planes.cols);
      return out;
    }
    ctx.free(out);
  }
  return runOriginal(ctx, "Transpose", inputs, attrs);
}

/**
 * `perm` as [batches, rows, cols] → [batches, cols, rows] when it keeps a leading run of axes in
 * place and swaps the two blocks after it ([0, 2, 3, 1]: [N, C, H·W] → [N, H·W, C]); else null.
 */
export function asBatchedMatrices(shape: readonly number[], perm: readonly number[]): { batches: number; rows: number; cols: number } | null {
  const n = perm.length;
  let k = 0;
  while (k < n && perm[k] === k) k++;
  if (k >= n - 1) return null;
  // The tail is perm[k..] = [j, j+1, ..., n-1, k, k+1, ..., j-1] for j = perm[k].
  const j = perm[k]!;
  for (let i = k; i < n; i++) {
    const want = i - k < n - j ? j + (i - k) : k + (i - k - (n - j));
    if (perm[i] !== want) return null;
  }
  const product = (from: number, to: number) => shape.slice(from, to).reduce((a, b) => a * b, 1);
  return { batches: product(0, k), rows: product(k, j), cols: product(j, n) };
}
