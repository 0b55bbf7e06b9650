/**
 * A WebAssembly module of our own that works on the WASM backend's heap (it imports the
 * backend's memory as `env.memory`, so it sees tensor buffers where they lie and follows the
 * heap as it grows): instantiated once per memory, or null where the runtime cannot (no
 * WebAssembly SIMD), and the caller falls back to JavaScript.
 */
import { wasmHeapMemory, type WasmHeapMemory } from "./wasm.ts";

/** The part of the WebAssembly API used here (no DOM/WebAssembly lib in this build). */
interface WasmApi {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { exports: object };
}

export class WasmHeapModule<Exports> {
  private instance: { memory: WasmHeapMemory; exports: Exports } | null = null;
  private unavailable = false;

  constructor(private readonly base64: string) {}

  /** The exports, when every array given lies on the backend's heap; else null. */
  exportsFor(...arrays: ArrayBufferView[]): Exports | null {
    const memory = wasmHeapMemory();
    if (memory === null || this.unavailable || !arrays.every((a) => a.buffer === memory.buffer)) return null;
    if (this.instance !== null && this.instance.memory === memory) return this.instance.exports;
    try {
      const wasm = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;
      const instance = new wasm.Instance(new wasm.Module(Buffer.from(this.base64, "base64")), { env: { memory } });
      this.instance = { memory, exports: instance.exports as Exports };
      return this.instance.exports;
    } catch {
      this.unavailable = true;
      return null;
    }
  }
}
