import type { ElementArray, NumericArray } from "./kernel_context.ts";

/**
 * The heap `dst` views, as 32-bit words, when `src` views the same one (WASM); else null.
 * `copyWithin` on it is a memmove that makes no view object, where a `subarray` per run costs
 * ~0.1 µs, most of a short run's copy.
 */
export function sharedHeap(src: NumericArray, dst: NumericArray): Int32Array | null {
  if (src.buffer !== dst.buffer) return null;
  let heap = heaps.get(dst.buffer);
  if (heap === undefined) heaps.set(dst.buffer, (heap = new Int32Array(dst.buffer)));
  return heap;
}

// One view per heap buffer (a grown WASM heap is a new buffer, and the old one is dropped).
const heaps = new WeakMap<ArrayBufferLike, Int32Array>();

/**
 * Copies `length` elements of `src` from `from` into `dst` at `to`; `heap` from `sharedHeap`
 * (null for bool bytes, which it never views).
 */
export function copyElements(
  heap: Int32Array | null,
  src: ElementArray,
  from: number,
  dst: ElementArray,
  to: number,
  length: number,
): void {
  if (length < 16) {
    for (let k = 0; k < length; k++) dst[to + k] = src[from + k]!;
  } else if (heap !== null) {
    const s = (src.byteOffset >> 2) + from;
    heap.copyWithin((dst.byteOffset >> 2) + to, s, s + length);
  } else {
    dst.set(src.subarray(from, from + length), to);
  }
}
