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

/** A module's bytes (base64) for the single-threaded backend's memory and for the threaded one's (shared). */
export interface WasmHeapModuleBytes {
  plain: string;
  shared: string;
}

const failures: string[] = [];

/** Why modules could not start on the backend's heap this process (each then ran its JavaScript path). */
export function wasmHeapModuleFailures(): readonly string[] {
  return failures;
}

export class WasmHeapModule<Exports> {
  private instance: { memory: WasmHeapMemory; exports: Exports } | null = null;
  private unavailable = false;

  constructor(private readonly bytes: WasmHeapModuleBytes) {}

  /** The exports, when every array given lies on the backend's heap; else null. */
  exportsFor(...arrays: ArrayBufferView[]): Exports | null {
    const memory = wasmHeapMemory();
    if (memory === null || this.unavailable || !arrays.every((a) => a.buffer === memory.buffer)) return null;
    if (this.instance !== null && this.instance.memory === memory) return this.instance.exports;
    try {
      const wasm = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;
      const shared = typeof SharedArrayBuffer !== "undefined" && memory.buffer instanceof SharedArrayBuffer;
      const bytes = Buffer.from(shared ? this.bytes.shared : this.bytes.plain, "base64");
      const instance = new wasm.Instance(new wasm.Module(bytes), { env: { memory } });
      this.instance = { memory, exports: instance.exports as Exports };
      return this.instance.exports;
    } catch (e) {
      this.unavailable = true;
      failures.push(e instanceof Error ? e.message : String(e));
      return null;
    }
  }
}
