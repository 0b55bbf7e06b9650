/**
 * 16-bit rounding of a buffer on the WASM backend's heap, in place (and GradScaler's unscale), with WebAssembly SIMD
 * (rounding_simd.wat): four lanes per instruction instead of a JS loop per element. It imports
 * the backend's own memory, so it sees the heap as it grows.
 */
import { WasmHeapModule } from "../backends/wasm_heap_module.ts";
import { ROUNDING_SIMD_WASM } from "./rounding_simd_wasm.ts";
import type { HalfFormat } from "./rounding.ts";

interface RoundingExports {
  bf16(srcOffset: number, dstOffset: number, count: number): void;
  f16(srcOffset: number, dstOffset: number, count: number): void;
  unscale(srcOffset: number, dstOffset: number, count: number, inv: number): number;
}

const simd = new WasmHeapModule<RoundingExports>(ROUNDING_SIMD_WASM);

/**
 * Rounds the whole-of-4 head of `values` into `into` (same length; `values` itself by default)
 * when both lie on the WASM heap; returns how many elements it rounded (0 when it could not:
 * another buffer, no SIMD).
 */
export function roundOnWasmHeap(values: Float32Array, format: HalfFormat, into: Float32Array = values): number {
  const exports = simd.exportsFor(values, into);
  if (exports === null) return 0;
  const head = values.length & ~3;
  if (head === 0) return 0;
  if (format === "float16") exports.f16(values.byteOffset, into.byteOffset, head);
  else exports.bf16(values.byteOffset, into.byteOffset, head);
  return head;
}

/**
 * `dst = src * inv` over the whole-of-4 head when both lie on the WASM heap; returns how many
 * elements it did (0 when it could not) and whether any result is inf or NaN.
 */
export function unscaleOnWasmHeap(src: Float32Array, dst: Float32Array, inv: number): { done: number; nonFinite: boolean } {
  const exports = simd.exportsFor(src, dst);
  const head = src.length & ~3;
  if (exports === null || head === 0) return { done: 0, nonFinite: false };
  const bad = exports.unscale(src.byteOffset, dst.byteOffset, head, inv);
  return { done: head, nonFinite: bad !== 0 };
}
