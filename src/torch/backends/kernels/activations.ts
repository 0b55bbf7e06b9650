import { WasmHeapModule } from "../wasm_heap_module.ts";
import { ACTIVATIONS_SIMD_WASM } from "./activations_simd_wasm.ts";

/**
 * The sigmoid and tanh of the recurrent cells (recurrent_cells.ts) in float32 arithmetic:
 * WebAssembly SIMD on the WASM backend's heap (activations_simd.wat, which explains the method),
 * and here the same operations one element at a time, each rounded to float32, for the pure-JS
 * backend and the elements after the last whole group of four, so both backends give the same
 * bits. Each result is within 2 float32 ulps of the exact value (the test measures it against
 * float64); tfjs's were XNNPACK's sigmoid and libc's `tanhf` on WASM (20 ns an element) and
 * float64 `Math.exp` / `Math.tanh` in JavaScript.
 */

interface SimdExports {
  sigmoidSum(a: number, b: number, out: number, n: number): void;
  tanhSum(a: number, b: number, out: number, n: number): void;
}

export const activationsSimd = new WasmHeapModule<SimdExports>(ACTIVATIONS_SIMD_WASM);

const f32 = Math.fround;
const C8 = f32(1 / 40320);
const C7 = f32(1 / 5040);
const C6 = f32(1 / 720);
const C5 = f32(1 / 120);
const C4 = f32(1 / 24);
const C3 = f32(1 / 6);
const LOG2E = f32(Math.LOG2E);
const LN2_HI = 0.693145751953125;
const LN2_LO = f32(Math.LN2 - LN2_HI);
const ROUNDER = 12582912; // 1.5 * 2^23

function expm1Small(t: number): number {
  let q = f32(f32(C8 * t) + C7);
  q = f32(f32(q * t) + C6);
  q = f32(f32(q * t) + C5);
  q = f32(f32(q * t) + C4);
  q = f32(f32(q * t) + C3);
  q = f32(f32(q * t) + 0.5);
  return f32(t + f32(f32(t * t) * q));
}

function steps(z: number): number {
  return f32(f32(f32(z * LOG2E) + ROUNDER) - ROUNDER);
}

function reduced(z: number, n: number): number {
  return f32(f32(z - f32(n * LN2_HI)) - f32(n * LN2_LO));
}

// 2^k for the integers k that occur, -75..0 (a table: `2 ** k` took most of an element's time).
const POW2 = Float64Array.from({ length: 76 }, (_, i) => 2 ** (i - 75));
function pow2(k: number): number {
  return POW2[k + 75]!;
}

export function sigmoid32(x: number): number {
  const z = Math.max(-Math.abs(x), -104);
  const n = steps(z);
  // (WebAssembly's saturating conversion: NaN to 0)
  const k = n | 0;
  const k1 = k >> 1;
  const e = f32(f32(f32(1 + expm1Small(reduced(z, n))) * pow2(k1)) * pow2(k - k1));
  const d = f32(1 + e);
  return x < 0 ? f32(e / d) : f32(1 / d);
}

export function tanh32(x: number): number {
  const z = Math.max(-2 * Math.abs(x), -20);
  const n = steps(z);
  const s = pow2(n | 0);
  const m = f32(f32(s * expm1Small(reduced(z, n))) + f32(s - 1));
  const r = Math.abs(f32(-m / f32(2 + m)));
  return x < 0 || (x === 0 && 1 / x < 0) ? -r : r;
}

/**
 * out[o + k] = f(a[i + k] + b[j + k]) (or f(a[i + k]) without b) for k < n: the whole groups of
 * four by `simd` when given, the rest by `f`.
 */
function apply(
  f: (x: number) => number,
  pass: "sigmoidSum" | "tanhSum",
  a: Float32Array,
  i: number,
  b: Float32Array | null,
  j: number,
  out: Float32Array,
  o: number,
  n: number,
  simd: SimdExports | null,
): void {
  let k = 0;
  if (simd !== null) {
    k = n & ~3;
    simd[pass](a.byteOffset + 4 * i, b === null ? 0 : b.byteOffset + 4 * j, out.byteOffset + 4 * o, k);
  }
  if (b === null) for (; k < n; k++) out[o + k] = f(a[i + k]!);
  else for (; k < n; k++) out[o + k] = f(f32(a[i + k]! + b[j + k]!));
}

/** out[o + k] = sigmoid(a[i + k] + b[j + k]) for k < n. */
export function sigmoidOfSum(
  a: Float32Array,
  i: number,
  b: Float32Array,
  j: number,
  out: Float32Array,
  o: number,
  n: number,
  simd: SimdExports | null,
): void {
  apply(sigmoid32, "sigmoidSum", a, i, b, j, out, o, n, simd);
}

/** out[o + k] = tanh(a[i + k] + b[j + k]) for k < n. */
export function tanhOfSum(
  a: Float32Array,
  i: number,
  b: Float32Array,
  j: number,
  out: Float32Array,
  o: number,
  n: number,
  simd: SimdExports | null,
): void {
  apply(tanh32, "tanhSum", a, i, b, j, out, o, n, simd);
}

/** out[o + k] = tanh(a[i + k]) for k < n (a −0 stays −0: no zero is added). */
export function tanhOf(
  a: Float32Array,
  i: number,
  out: Float32Array,
  o: number,
  n: number,
  simd: SimdExports | null,
): void {
  apply(tanh32, "tanhSum", a, i, null, 0, out, o, n, simd);
}
