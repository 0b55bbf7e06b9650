/**
 * The ring all-reduce's float32 arithmetic — a received segment added into one's own, a mean's
 * division — in WebAssembly SIMD (reduce_simd.wat), on a memory of its own: JavaScript's loops
 * over a Float32Array take ~3 ns per element (a 64 MB all-reduce of two ranks spent ~30 ms of
 * its ~115 in the adds, and a mean as much again dividing), these ~0.3 ns with the copies in and
 * out. A segment received straight into the module's memory (`incoming`) is added without a copy.
 * The same float32 operations as the loops, so the same bits; null where the runtime has no
 * WebAssembly SIMD (the caller keeps its loops).
 */
import { REDUCE_SIMD_WASM } from "./reduce_simd_wasm.ts";

interface ReduceExports {
  add(dst: number, src: number, n: number): void;
  divide(dst: number, n: number, d: number): void;
}

/** The part of the WebAssembly API used here (no DOM/WebAssembly lib in this build). */
interface WasmApi {
  Memory: new (descriptor: { initial: number }) => { buffer: ArrayBuffer };
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { exports: object };
}

const PAGE = 65536;

export class FloatReduction {
  private constructor(
    private readonly buffer: ArrayBuffer,
    private readonly exports: ReduceExports,
    /** Bytes of each of the two regions: [0, block) one's own values, [block, 2·block) the incoming ones. */
    private readonly block: number,
  ) {}

  /** For segments of up to `segmentFloats` floats. */
  static create(segmentFloats: number): FloatReduction | null {
    try {
      const wasm = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;
      const block = Math.ceil((4 * segmentFloats) / PAGE) * PAGE;
      // (a fixed size: the memory never grows, so views of it stay valid)
      const memory = new wasm.Memory({ initial: (2 * block) / PAGE });
      const instance = new wasm.Instance(new wasm.Module(Buffer.from(REDUCE_SIMD_WASM.plain, "base64")), { env: { memory } });
      return new FloatReduction(memory.buffer, instance.exports as ReduceExports, block);
    } catch {
      return null;
    }
  }

  /** Where an incoming segment of `bytes` can be received, to be added without a copy. */
  incoming(bytes: number): Uint8Array {
    return new Uint8Array(this.buffer, this.block, Math.min(bytes, this.block));
  }

  /** `mine[i] = incoming[i] + mine[i]`, in blocks. */
  add(mine: Float32Array, incoming: Float32Array): void {
    const own = new Float32Array(this.buffer, 0, this.block / 4);
    const theirs = new Float32Array(this.buffer, this.block, this.block / 4);
    const step = this.block / 4;
    for (let at = 0; at < mine.length; at += step) {
      const n = Math.min(step, mine.length - at);
      const part = mine.subarray(at, at + n);
      const from = incoming.subarray(at, at + n);
      own.set(part);
      // (already there when it was received into `incoming()`)
      if (!(from.buffer === this.buffer && from.byteOffset === this.block)) theirs.set(from);
      this.exports.add(0, this.block, n);
      part.set(own.subarray(0, n));
    }
  }

  /** `data[i] = data[i] / d`, in blocks. */
  divide(data: Float32Array, d: number): void {
    const own = new Float32Array(this.buffer, 0, this.block / 4);
    const step = this.block / 4;
    for (let at = 0; at < data.length; at += step) {
      const n = Math.min(step, data.length - at);
      const part = data.subarray(at, at + n);
      own.set(part);
      this.exports.divide(0, n, d);
      part.set(own.subarray(0, n));
    }
  }
}
