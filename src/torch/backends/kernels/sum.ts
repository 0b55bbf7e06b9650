import type { NamedAttrMap, TensorInfo } from "@tensorflow/tfjs-core";
import type { KernelContext } from "./kernel_context.ts";
import { runOriginal } from "./index.ts";
import { WasmHeapModule } from "../wasm_heap_module.ts";
import { SUM_SIMD_WASM } from "./sum_simd_wasm.ts";

const simd = new WasmHeapModule<{ sumOuterInner(...args: number[]): void }>(SUM_SIMD_WASM);

/**
 * `Sum` on WASM over leading axes — a bias gradient: NCHW's [0, 2, 3] for a convolution, [0] for
 * a linear layer — in one SIMD pass that adds in float64 (sum_simd.wat). tfjs's kernel first
 * transposes the tensor to put the reduced axes last (the benchmark CNN's conv1 bias: 2.5 →
 * 0.5 ms), then sums each output in float32, in order: over 50,176 values that sum is off by
 * up to ~1e-4 relative; this one is the float64 sum rounded once. Reductions of trailing axes
 * only, of every axis, or of int32 go to tfjs's kernel.
 */
export function sumLeadingAxes(ctx: KernelContext, inputs: Record<string, TensorInfo>, attrs: NamedAttrMap): TensorInfo {
  const x = inputs.x!;
  const view = x.dtype === "float32" ? asOuterKeptInner(x.shape, attrs.axis as number | number[]) : null;
  if (view !== null) {
    const reduced = new Set(normalizeAxes(attrs.axis as number | number[], x.shape.length));
    const shape = attrs.keepDims ? x.shape.map((d, i) => (reduced.has(i) ? 1 : d)) : x.shape.filter((_, i) => !reduced.has(i));
    const out = ctx.empty(shape, "float32");
    // float64 scratch: 2 float32 slots per sum, and 2 more so that an 8-byte-aligned start fits
    const scratch = ctx.empty([2 * view.kept + 2], "float32");
    const src = ctx.floats(x);
    const dst = ctx.values(out) as Float32Array;
    const acc = ctx.values(scratch) as Float32Array;
    const exports = simd.exportsFor(src, dst, acc);
    if (exports !== null) {
      exports.sumOuterInner(src.byteOffset, dst.byteOffset, (acc.byteOffset + 7) & ~7, view.outer, view.kept, view.inner);
      ctx.free(scratch);
      return out;
    }
    ctx.free(scratch);
    ctx.free(out);
  }
  return runOriginal(ctx, "Sum", inputs, attrs);
}

function normalizeAxes(axis: number | number[], rank: number): number[] {
  return (Array.isArray(axis) ? axis : [axis]).map((a) => (a < 0 ? a + rank : a));
}

/**
 * `shape` as [outer, kept, inner] when the reduced axes are a leading run (at least one axis)
 * and an optional trailing run around one kept run of axes; else null (tfjs needs no transpose
 * when the reduced axes are trailing only, or all of them).
 */
export function asOuterKeptInner(shape: readonly number[], axis: number | number[]): { outer: number; kept: number; inner: number } | null {
  const reduced = new Set(normalizeAxes(axis, shape.length));
  const rank = shape.length;
  let lead = 0;
  while (lead < rank && reduced.has(lead)) lead++;
  let keptEnd = lead;
  while (keptEnd < rank && !reduced.has(keptEnd)) keptEnd++;
  for (let i = keptEnd; i < rank; i++) if (!reduced.has(i)) return null;
  if (lead === 0 || keptEnd === lead) return null;
  const product = (from: number, to: number) => shape.slice(from, to).reduce((a, b) => a * b, 1);
  return { outer: product(0, lead), kept: product(lead, keptEnd), inner: product(keptEnd, rank) };
}
