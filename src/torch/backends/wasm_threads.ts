/**
 * The multi-threaded WASM backend: tfjs-backend-wasm's threaded SIMD build (XNNPACK on a
 * pthreadpool of Web Workers, here Node worker threads), for `LIGHTNING_TS_NUM_THREADS` > 1 (the
 * pool is sized when the backend starts: `setNumThreads` cannot resize it). docs/backends.md,
 * "Threads", has the measurements behind the default of one thread.
 *
 * tfjs never starts this build under Node (its loader hands Emscripten a `blob:` worker URL that
 * Node cannot load, and its check for thread support is hard-coded false there); the steps its
 * loader would take are done here with real files: the pthread worker script (shipped only as a
 * string) written to a temporary file, the glue's own path as the script each worker imports,
 * and the `.wasm` beside it. Starting is asynchronous: each worker loads the module before the
 * runtime runs. The C++ sizes its pool from the thread count it is given but caps it at half the
 * logical cores it sees (it assumes hyper-threading), so the cores are reported as at least
 * twice the count while the runtime starts and the pool is made; workers start without this
 * process's Node flags; the pool's workers are unreferenced once made.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import os from "node:os";
import { dirname, join } from "node:path";

const require = createRequire(import.meta.url);

/** The Emscripten module of the threaded build, as far as lightning-ts uses it. */
export interface ThreadedWasmModule {
  cwrap(name: string, returns: string | null, args: string[]): (...args: number[]) => number;
  tfjs?: Record<string, (...args: number[]) => number>;
  wasmMemory: { buffer: ArrayBuffer };
  PThread: {
    runningWorkers: Array<{ unref(): void }>;
  };
}

type ThreadedFactory = (module: object) => Promise<ThreadedWasmModule>;

/**
 * The largest pool tfjs's threaded build makes (asked for more, it makes this many): also the
 * workers Emscripten's glue spawns before the runtime starts.
 */
export const MAX_WASM_THREADS = 8;

/**
 * `LIGHTNING_TS_NUM_THREADS`, validated: a positive integer, 1 when unset or empty. `auto` is
 * the number of cores Node reports.
 */
export function threadsFromEnv(): number {
  return parseThreadCount(process.env.LIGHTNING_TS_NUM_THREADS ?? "", "LIGHTNING_TS_NUM_THREADS");
}

export function parseThreadCount(value: string | number, source: string): number {
  const text = String(value).trim().toLowerCase();
  if (text === "") return 1;
  if (text === "auto") return Math.max(1, os.availableParallelism());
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1) {
    throw new Error(`${source} must be a positive integer (or 'auto'), got '${value}'`);
  }
  return n;
}

/** Starts the threaded build's runtime for a pool of `threads` threads; the backend makes the pool (`makePool`). */
export async function startThreadedWasm(threads: number): Promise<ThreadedWasmModule> {
  const packageDir = dirname(require.resolve("@tensorflow/tfjs-backend-wasm/package.json"));
  const gluePath = join(packageDir, "wasm-out", "tfjs-backend-wasm-threaded-simd.js");
  const factory = require(gluePath) as ThreadedFactory;
  const { wasmWorkerContents } = require(join(packageDir, "wasm-out", "tfjs-backend-wasm-threaded-simd.worker.js")) as {
    wasmWorkerContents: string;
  };
  const workerDir = mkdtempSync(join(os.tmpdir(), "lightning-ts-wasm-"));
  try {
    const workerPath = join(workerDir, "tfjs-backend-wasm-threaded-simd.worker.js");
    // The string's escaped newlines inside string literals came out as real ones.
    writeFileSync(workerPath, wasmWorkerContents.replace(/\n/g, "\\n"));
    // The runtime reads the core count as it starts, and the pool is capped by what it read.
    const restoreCores = reportCores(2 * threads);
    try {
      return await withPlainWorkers(() =>
        factory({
          locateFile: (file: string) => (file.endsWith(".worker.js") ? workerPath : join(packageDir, "dist", file)),
          mainScriptUrlOrBlob: gluePath,
        }),
      );
    } finally {
      restoreCores();
    }
  } finally {
    rmSync(workerDir, { recursive: true, force: true });
  }
}

/**
 * Makes the pool of `threads` threads — `make` constructs the backend, which creates it — and
 * lets the process end while the pool waits for work: its threads run in workers Emscripten keeps
 * referenced.
 */
export function makePool<T>(module: ThreadedWasmModule, threads: number, make: () => T): T {
  const restoreCores = reportCores(2 * threads);
  let made: T;
  try {
    made = make();
  } finally {
    restoreCores();
  }
  for (const worker of module.PThread.runningWorkers) worker.unref();
  return made;
}

/**
 * Runs `fn` (which spawns Emscripten's workers, synchronously) with worker threads that start
 * with no Node flags of this process: they only evaluate the glue, and flags such as
 * `--import lightning-ts/backend-ready` or a TypeScript loader would run again in each of them.
 */
function withPlainWorkers<T>(fn: () => T): T {
  const threads = require("node:worker_threads") as { Worker: new (file: string, options?: object) => object };
  const original = threads.Worker;
  class PlainWorker extends original {
    constructor(file: string, options: object = {}) {
      super(file, { ...options, execArgv: [] });
    }
  }
  // The glue sets the global `Worker` it spawns with from this module's (and leaves it set, for
  // the workers it may spawn later).
  threads.Worker = PlainWorker;
  try {
    return fn();
  } finally {
    threads.Worker = original;
  }
}

/**
 * Makes Node report at least `cores` logical cores (Emscripten asks `os.cpus()`) until the
 * returned function is called.
 */
function reportCores(cores: number): () => void {
  const real = os.cpus;
  const cpus = real();
  if (cpus.length >= cores) return () => undefined;
  os.cpus = () => Array.from({ length: cores }, (_, i) => cpus[i % Math.max(1, cpus.length)]!);
  return () => {
    os.cpus = real;
  };
}
