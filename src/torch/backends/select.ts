import { tf } from "../tf.ts";
import { createRequire } from "node:module";
import { installKernelShims } from "./kernels/index.ts";
import { quietBackendInit } from "./quiet_init.ts";
import { registerThreadedWasmBackend, registerWasmBackend, threadedWasmRegistered } from "./wasm.ts";
import { threadsFromEnv } from "./wasm_threads.ts";

/**
 * Picks the tfjs backend the torch layer runs on (docs/backends.md).
 *
 * `LIGHTNING_TS_BACKEND` (or `selectBackend(name)`) names one: `tensorflow` (tfjs-node /
 * tfjs-node-gpu, optional peers), `wasm`, `cpu` (pure JS) or `webgpu`. `auto` prefers
 * tfjs-node when it is installed, else WASM, else pure JS with a one-line notice. Whatever
 * is picked comes with lightning-ts's kernel shims registered, so every layer trains on it.
 */
export const BACKEND_NAMES = ["auto", "tensorflow", "wasm", "cpu", "webgpu"] as const;
export type BackendName = (typeof BACKEND_NAMES)[number];

const require = createRequire(import.meta.url);

export class BackendUnavailableError extends Error {
  override name = "BackendUnavailableError";
}

/** Validates a backend name from code or configuration; `source` says where it came from. */
export function parseBackendName(value: string, source = "backend"): BackendName {
  const v = value.trim().toLowerCase();
  if (v === "") return "auto";
  if ((BACKEND_NAMES as readonly string[]).includes(v)) return v as BackendName;
  throw new BackendUnavailableError(
    `${source} '${value}' is not a backend lightning-ts knows: use one of ${BACKEND_NAMES.join(", ")}`,
  );
}

/** `LIGHTNING_TS_BACKEND`, validated (unset or empty means `auto`). */
export function backendFromEnv(): BackendName {
  return parseBackendName(process.env.LIGHTNING_TS_BACKEND ?? "auto", "LIGHTNING_TS_BACKEND");
}

// Kernels for backends already loaded (the pure-JS one always is) go in at import, so a
// script that calls tf.setBackend itself still gets them.
quietBackendInit();
installKernelShims();

function packageInstalled(pkg: string): boolean {
  try {
    require.resolve(pkg);
    return true;
  } catch {
    return false;
  }
}

const NATIVE_PACKAGES = ["@tensorflow/tfjs-node-gpu", "@tensorflow/tfjs-node"] as const;

/**
 * Sets a backend whose factory is synchronous (every one but WebGPU): tfjs's `setBackend` is
 * async, but with such a factory it has done all its work when it returns. True when it runs.
 */
function setBackendNow(name: string): boolean {
  void tf.setBackend(name);
  const engine = tf.engine() as unknown as { backendName: string | null; backendInstance: unknown; registry: Record<string, unknown> };
  return engine.backendName === name && engine.backendInstance != null && engine.backendInstance === engine.registry[name];
}

/** tfjs-node(-gpu) are optional peers: absent is normal, and never an error in `auto`. */
function tryTensorflow(): boolean {
  for (const pkg of NATIVE_PACKAGES) {
    if (!packageInstalled(pkg)) continue;
    require(pkg);
    return setBackendNow("tensorflow");
  }
  return false;
}

function webAssemblyUsable(): boolean {
  // `node --jitless` and some sandboxes have no WebAssembly; checking first keeps the
  // Emscripten loader from printing an abort message before we fall back.
  // lib "ES2023" without DOM types declares no WebAssembly global; read it off globalThis.
  const wasm = (globalThis as { WebAssembly?: { instantiate?: unknown } }).WebAssembly;
  return typeof wasm === "object" && typeof wasm.instantiate === "function";
}

/**
 * Runs a backend initialisation, holding back the warnings tfjs prints when one fails
 * ("Initialization of backend wasm failed" and a stack): the caller reports the failure in
 * its own words. Returns the first held-back line as the reason.
 */
function withInitWarningsHeld(init: () => boolean): { ok: boolean; reason: string } {
  const held: string[] = [];
  const warn = console.warn;
  console.warn = (...args: unknown[]) => {
    held.push(args.map(String).join(" "));
  };
  try {
    const ok = init();
    if (ok) for (const line of held) warn(line);
    const reason = held.find((l) => !/^Initialization of backend/.test(l)) ?? held[0] ?? "";
    return { ok, reason: reason.split("\n")[0]! };
  } finally {
    console.warn = warn;
  }
}

type Started = { ok: boolean; reason: string };

function tryWasm(): Started | Promise<Started> {
  if (!webAssemblyUsable()) return { ok: false, reason: "this Node.js has no WebAssembly" };
  const threads = threadsFromEnv();
  if (threads > 1) {
    const registration = registerThreadedWasmBackend(threads);
    const setWasm = (): Started => {
      quietBackendInit();
      return withInitWarningsHeld(() => setBackendNow("wasm"));
    };
    if (threadedWasmRegistered()) return setWasm();
    // The threaded build starts asynchronously (its workers load the module first): the
    // pure-JS backend runs what comes before (`ready()` waits, as for WebGPU; Lite and the
    // Trainer call it).
    setBackendNow("cpu");
    return registration.then(setWasm, (e: unknown): Started => ({ ok: false, reason: errorMessage(e) }));
  }
  registerWasmBackend();
  quietBackendInit();
  // Shims go in after the backend starts (in `finish`), so the engine has run the setup of
  // the WASM kernels they replace: those stay callable for `withOriginalKernels`.
  return withInitWarningsHeld(() => setBackendNow("wasm"));
}

async function tryWebgpu(): Promise<boolean> {
  const { initWebgpu } = await import("./webgpu.ts");
  quietBackendInit();
  return initWebgpu();
}

const installHint: Record<Exclude<BackendName, "auto">, string> = {
  tensorflow: "npm install @tensorflow/tfjs-node (or @tensorflow/tfjs-node-gpu for CUDA)",
  wasm: "npm install @tensorflow/tfjs-backend-wasm@4.22.0",
  cpu: "npm install @tensorflow/tfjs-backend-cpu@4.22.0",
  webgpu: "npm install webgpu @tensorflow/tfjs-backend-webgpu@4.22.0 (and a Vulkan driver)",
};

function errorMessage(e: unknown): string {
  return (e instanceof Error ? e.message : String(e)).split("\n")[0]!;
}

function selectAuto(): string | Promise<string> {
  const native = NATIVE_PACKAGES.find(packageInstalled);
  if (native) {
    try {
      if (tryTensorflow()) return finish();
      process.stderr.write(`lightning-ts: ${native} is installed but did not start; trying WASM\n`);
    } catch (e) {
      process.stderr.write(`lightning-ts: ${native} is installed but failed to load (${errorMessage(e)}); trying WASM\n`);
    }
  }
  const onCpu = (reason: string): string => {
    process.stderr.write(
      `lightning-ts: WASM backend unavailable${reason ? ` (${reason})` : ""}; using the pure-JS cpu backend (slow)\n`,
    );
    setBackendNow("cpu");
    return finish();
  };
  let wasm: Started | Promise<Started>;
  try {
    wasm = tryWasm();
  } catch (e) {
    return onCpu(errorMessage(e));
  }
  if (wasm instanceof Promise) return wasm.then((r) => (r.ok ? finish() : onCpu(r.reason)));
  return wasm.ok ? finish() : onCpu(wasm.reason);
}

function unavailable(name: Exclude<BackendName, "auto">, reason: string): BackendUnavailableError {
  return new BackendUnavailableError(`backend '${name}' is not available${reason ? ` (${reason})` : ""}: ${installHint[name]}`);
}

/**
 * Makes `requested` the active backend now and returns its tfjs name, for every backend that
 * starts synchronously; WebGPU (whose adapter request is async) returns a promise. `auto` never
 * fails: it ends on the pure-JS backend. A named backend that cannot start is an error naming
 * what to install.
 */
function startBackend(requested: BackendName): string | Promise<string> {
  const name = parseBackendName(String(requested));
  // A mistyped thread count is an error whichever backend runs, as a mistyped backend name is.
  threadsFromEnv();
  quietBackendInit();
  if (name === "auto") return selectAuto();
  if (name === "webgpu") {
    return tryWebgpu().then(
      (ok) => {
        if (!ok) throw unavailable(name, "");
        return finish();
      },
      (e: unknown) => {
        throw unavailable(name, errorMessage(e));
      },
    );
  }
  let ok = false;
  let reason = "";
  try {
    if (name === "wasm") {
      const wasm = tryWasm();
      if (wasm instanceof Promise) {
        return wasm.then((r) => {
          if (!r.ok) throw unavailable(name, r.reason);
          return finish();
        });
      }
      ({ ok, reason } = wasm);
    } else if (name === "tensorflow") ok = tryTensorflow();
    else ok = setBackendNow("cpu");
  } catch (e) {
    reason = errorMessage(e);
  }
  if (!ok) throw unavailable(name, reason);
  return finish();
}

/** The start of the backend asked for at import (LIGHTNING_TS_BACKEND), or by the last selectBackend. */
let starting: Promise<string> | null = null;

/**
 * Starts the backend `LIGHTNING_TS_BACKEND` names, at import of `lightning-ts/torch`. Every
 * backend but WebGPU is running when this returns, so a plain script needs no setup call and the
 * package has no top-level await (CommonJS can `require` it). WebGPU's start is left pending:
 * `ready()` waits for it, and Lite and the Trainer call that for the user.
 */
export function startBackendAtImport(): void {
  const started = startBackend(backendFromEnv());
  if (typeof started !== "string") {
    starting = started;
    // Reported by ready() (and Lite/Trainer); unobserved it must not kill the process first.
    started.catch(() => undefined);
  }
}

/**
 * Resolves with the active backend's name once the backend chosen at import (or by
 * `selectBackend`) is running; rejects with the reason when it could not start. Only WebGPU
 * starts asynchronously; `await ready()` before the first tensor op of a WebGPU script.
 */
export async function ready(): Promise<string> {
  if (starting) await starting;
  return tf.getBackend();
}

/**
 * Makes `requested` the active backend and returns its tfjs name. `auto` never fails: it
 * ends on the pure-JS backend. A named backend that cannot start is an error naming what to
 * install.
 */
export async function selectBackend(requested: BackendName = "auto"): Promise<string> {
  const started = startBackend(requested);
  if (typeof started === "string") {
    starting = null;
    return started;
  }
  starting = started;
  return started;
}

function finish(): string {
  quietBackendInit();
  installKernelShims();
  return tf.getBackend();
}
