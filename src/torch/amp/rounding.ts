/**
 * Exact 16-bit rounding of float32 values, in place: what a cast to float16 / bfloat16 and back
 * to float32 gives in PyTorch (round to nearest, ties to even). No tfjs backend has a 16-bit
 * dtype, so a value "in 16 bits" is a float32 holding exactly a representable 16-bit value.
 *
 * One pass over the buffer with integer operations on the float's bits (an Int32Array view of
 * the same memory) rather than a chain of tfjs float ops: exact by construction, and about a
 * nanosecond per element.
 */

import { roundOnWasmHeap } from "./rounding_simd.ts";

/** The two 16-bit formats: IEEE half (fp16) and bfloat16 (bf16). */
export type HalfFormat = "float16" | "bfloat16";

/** The largest finite float16; 65520 and above round to infinity. */
export const FLOAT16_MAX = 65504;

const TWO_POW_24 = 16777216;

/**
 * float16: 10-bit mantissa, 5-bit exponent. Normal values (|x| ≥ 2^-14) keep 10 mantissa bits;
 * below, the subnormals are multiples of 2^-24, and what rounds below 2^-25 underflows to ±0;
 * |x| ≥ 65520 overflows to ±inf. NaN stays NaN.
 */
export function roundToFloat16(values: Float32Array): void {
  // Int32 (not Uint32) views and `| 0`: every intermediate stays an int32 V8 keeps unboxed.
  const bits = new Int32Array(values.buffer, values.byteOffset, values.length);
  const n = bits.length;
  for (let i = 0; i < n; i++) {
    const b = bits[i]! | 0;
    const a = b & 0x7fffffff;
    if (a >= 0x38800000 && a < 0x477ff000) {
      // Normal: drop 13 mantissa bits, ties to even; the carry may bump the exponent, never past 65504.
      bits[i] = ((b + 0xfff + ((b >> 13) & 1)) | 0) & ~0x1fff;
    } else if (a >= 0x477ff000) {
      if (a <= 0x7f800000) bits[i] = (b & 0x80000000) | 0x7f800000; // overflow (NaN stays)
    } else if (a !== 0) {
      // Subnormal range: a multiple of 2^-24 (the scaling by a power of two is exact).
      const t = values[i]! * TWO_POW_24;
      let r = Math.round(t);
      if (r - t === 0.5 && (r & 1) !== 0) r -= 1; // Math.round takes halves up; ties go to even
      values[i] = r / TWO_POW_24;
    }
  }
}

/**
 * bfloat16: float32's exponent, 7-bit mantissa: drop the low 16 bits, ties to even. Values past
 * bfloat16's largest finite one round to ±inf as the carry reaches the exponent; float32
 * subnormals round to bfloat16 subnormals. NaN stays NaN (quieted, as PyTorch's conversion does).
 */
export function roundToBFloat16(values: Float32Array): void {
  const bits = new Int32Array(values.buffer, values.byteOffset, values.length);
  const n = bits.length;
  for (let i = 0; i < n; i++) {
    const b = bits[i]! | 0;
    if ((b & 0x7fffffff) > 0x7f800000) bits[i] = (b | 0x00400000) & -65536;
    else bits[i] = ((b + 0x7fff + ((b >> 16) & 1)) | 0) & -65536;
  }
}

/**
 * Rounds `values` to `format`, in place or into `into` (same length): with WebAssembly SIMD when
 * the buffers are on the WASM backend's heap (rounding_simd.ts), the rest (and every other
 * buffer) with the loops above.
 */
export function roundToHalf(values: Float32Array, format: HalfFormat, into: Float32Array = values): void {
  const done = roundOnWasmHeap(values, format, into);
  if (done === values.length) return;
  const rest = into.subarray(done);
  if (into !== values) rest.set(values.subarray(done));
  if (format === "float16") roundToFloat16(rest);
  else roundToBFloat16(rest);
}
