import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tf } from "../tf.ts";
import { MAX_WASM_THREADS, makePool, startThreadedWasm } from "./wasm_threads.ts";

const require = createRequire(import.meta.url);

/** What tfjs-backend-wasm's Node bundle exports that we use. */
interface WasmPackage {
  BackendWasm: new (module: EmscriptenModule) => tf.KernelBackend;
  /** The pool size the next BackendWasm asks for (-1: the C++'s own choice). */
  setThreadsCount(threads: number): void;
}

// lib "ES2023" without DOM types declares no WebAssembly global: the little used here, typed here.
interface WasmApi {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { exports: object };
}

interface EmscriptenModule {
  instantiateWasm(imports: object, receive: (instance: { exports: object }, module: object) => void): object;
  calledRun?: boolean;
  cwrap(name: string, returns: string | null, args: string[]): (...args: number[]) => number;
  tfjs?: Record<string, (...args: number[]) => number>;
}

type Factory = (module: EmscriptenModule) => unknown;

let registered = false;
let runningThreads = 0;

/** Threads of the running WASM backend's pool (1 for the single-threaded build), 0 before it starts. */
export function wasmThreads(): number {
  return runningThreads;
}

/** tfjs-backend-wasm's priority: above the pure-JS backend (1). */
const WASM_PRIORITY = 2;

/** A WebAssembly.Memory, as far as others use it (no DOM/WebAssembly lib in this build). */
export interface WasmHeapMemory {
  readonly buffer: ArrayBuffer;
}

let heapMemory: WasmHeapMemory | null = null;

/**
 * The WASM backend's memory (its tensors' buffers live in it), once the backend started; other
 * WebAssembly code can import it and work on those buffers in place (torch/amp's rounding).
 */
export function wasmHeapMemory(): WasmHeapMemory | null {
  return heapMemory;
}

/**
 * Registers tfjs's WASM backend (its kernels, from `@tensorflow/tfjs-backend-wasm`) with a
 * factory that starts it synchronously, so that importing lightning-ts needs no top-level await
 * and a plain script's first tensor op runs on WASM.
 *
 * The package's own factory is async only because browsers must compile large modules
 * asynchronously; Node compiles them synchronously. Emscripten's glue runs its runtime
 * synchronously when `instantiateWasm` hands it the instance at once, and the module object
 * passed in becomes the initialised module; the rest is what the package's `init()` does
 * (its `cwrap`s, then `new BackendWasm(module)`). ~35 ms for the SIMD binary on this machine.
 */
export function registerWasmBackend(): void {
  // Once: replacing the factory later would dispose a running backend (its tensors with it), and
  // Emscripten's dispose removes every uncaughtException/unhandledRejection listener on the
  // process, not only its own (its "added" filter keeps them all).
  if (registered) return;
  registered = true;
  const pkg = require("@tensorflow/tfjs-backend-wasm") as WasmPackage;
  if (tf.findBackendFactory("wasm")) tf.removeBackend("wasm");
  const glue = require("@tensorflow/tfjs-backend-wasm/wasm-out/tfjs-backend-wasm-simd.js") as Factory;
  const binary = require.resolve("@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-simd.wasm");
  tf.registerBackend(
    "wasm",
    () => {
      const bytes = readFileSync(binary);
      const wasm = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;
      const module: EmscriptenModule = {
        instantiateWasm(imports, receive) {
          const compiled = new wasm.Module(bytes);
          const instance = new wasm.Instance(compiled, imports);
          heapMemory = (instance.exports as { memory?: WasmHeapMemory }).memory ?? null;
          receive(instance, compiled);
          return instance.exports;
        },
      } as EmscriptenModule;
      // The glue's epilogue looks the module up under this global name (the package's bundle
      // declares it as a variable around the glue).
      const g = globalThis as { WasmBackendModule?: unknown };
      g.WasmBackendModule = module;
      try {
        glue(module);
      } finally {
        delete g.WasmBackendModule;
      }
      if (!module.calledRun) throw new Error("the WASM runtime did not start synchronously");
      bindTfjs(module);
      runningThreads = 1;
      return new pkg.BackendWasm(module);
    },
    WASM_PRIORITY,
  );
}

/** The C++ entry points tfjs's BackendWasm calls, as the package's own loader binds them. */
function bindTfjs(module: Pick<EmscriptenModule, "cwrap" | "tfjs">): void {
  module.tfjs = {
    init: module.cwrap("init", null, []),
    initWithThreadsCount: module.cwrap("init_with_threads_count", null, ["number"]),
    getThreadsCount: module.cwrap("get_threads_count", "number", []),
    registerTensor: module.cwrap("register_tensor", null, ["number", "number", "number"]),
    disposeData: module.cwrap("dispose_data", null, ["number"]),
    dispose: module.cwrap("dispose", null, []),
  };
}

/**
 * Starts the multi-threaded build (wasm_threads.ts) with a pool of `threads`, then registers it
 * as the WASM backend, ready to be set. Its start is asynchronous, so until this resolves the
 * caller keeps another backend active, as for WebGPU; the tensors made meanwhile move over when
 * next used.
 */
export function registerThreadedWasmBackend(threads: number): Promise<void> {
  threadedRegistration ??= registerThreaded(threads);
  return threadedRegistration;
}

let threadedRegistration: Promise<void> | null = null;
let threadedRegistered = false;

/** Whether the multi-threaded build is registered as the WASM backend (its start is over). */
export function threadedWasmRegistered(): boolean {
  return threadedRegistered;
}

async function registerThreaded(threads: number): Promise<void> {
  if (registered) throw new Error("lightning-ts: the single-threaded WASM backend is registered already");
  registered = true;
  if (threads > MAX_WASM_THREADS) {
    process.stderr.write(`lightning-ts: LIGHTNING_TS_NUM_THREADS=${threads}: tfjs's WASM build runs at most ${MAX_WASM_THREADS} threads; using ${MAX_WASM_THREADS}\n`);
    threads = MAX_WASM_THREADS;
  }
  const pkg = require("@tensorflow/tfjs-backend-wasm") as WasmPackage;
  if (tf.findBackendFactory("wasm")) tf.removeBackend("wasm");
  const module = await startThreadedWasm(threads);
  bindTfjs(module);
  heapMemory = module.wasmMemory;
  tf.registerBackend(
    "wasm",
    () => {
      pkg.setThreadsCount(threads);
      const backend = makePool(module, threads, () => new pkg.BackendWasm(module as unknown as EmscriptenModule));
      runningThreads = module.tfjs!.getThreadsCount!();
      return backend;
    },
    WASM_PRIORITY,
  );
  threadedRegistered = true;
}
