/**
 * 16-bit rounding of a buffer on the WASM backend's heap, in place (and GradScaler's unscale), with WebAssembly SIMD
 * (rounding_simd.wat): four lanes per instruction instead of a JS loop per element. It imports
 * the backend's own memory, so it sees the heap as it grows.
 */
import { wasmHeapMemory, type WasmHeapMemory } from "../backends/wasm.ts";
import { ROUNDING_SIMD_WASM } from "./rounding_simd_wasm.ts";
import type { HalfFormat } from "./rounding.ts";

interface RoundingExports {
  bf16(byteOffset: number, count: number): void;
  f16(byteOffset: number, count: number): void;
  unscale(srcOffset: number, dstOffset: number, count: number, inv: number): number;
}

/** The part of the WebAssembly API used here (no DOM/WebAssembly lib in this build). */
interface WasmApi {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { exports: object };
}

let exportsFor: { memory: WasmHeapMemory; exports: RoundingExports } | null = null;
let unavailable = false;

function roundingExports(memory: WasmHeapMemory): RoundingExports | null {
  if (exportsFor !== null && exportsFor.memory === memory) return exportsFor.exports;
  if (unavailable) return null;
  try {
    const wasm = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;
    const module = new wasm.Module(Buffer.from(ROUNDING_SIMD_WASM, "base64"));
    const instance = new wasm.Instance(module, { env: { memory } });
    const exports = instance.exports as unknown as RoundingExports;
    exportsFor = { memory, exports };
    return exports;
  } catch {
    // A runtime without WebAssembly SIMD: the JS loop does the work.
    unavailable = true;
    return null;
  }
}

/**
 * Rounds the whole-of-4 head of `values` in place when it lies on the WASM heap; returns how
 * many elements it rounded (0 when it could not: another buffer, no SIMD).
 */
export function roundOnWasmHeap(values: Float32Array, format: HalfFormat): number {
  const memory = wasmHeapMemory();
  if (memory === null || values.buffer !== memory.buffer) return 0;
  const exports = roundingExports(memory);
  if (exports === null) return 0;
  const head = values.length & ~3;
  if (head === 0) return 0;
  if (format === "float16") exports.f16(values.byteOffset, head);
  else exports.bf16(values.byteOffset, head);
  return head;
}

/**
 * `dst = src * inv` over the whole-of-4 head when both lie on the WASM heap; returns how many
 * elements it did (0 when it could not) and whether any result is inf or NaN.
 */
export function unscaleOnWasmHeap(src: Float32Array, dst: Float32Array, inv: number): { done: number; nonFinite: boolean } {
  const memory = wasmHeapMemory();
  if (memory === null || src.buffer !== memory.buffer || dst.buffer !== memory.buffer) return { done: 0, nonFinite: false };
  const exports = roundingExports(memory);
  const head = src.length & ~3;
  if (exports === null || head === 0) return { done: 0, nonFinite: false };
  const bad = exports.unscale(src.byteOffset, dst.byteOffset, head, inv);
  return { done: head, nonFinite: bad !== 0 };
}
