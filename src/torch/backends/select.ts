import { tf } from "../tf";
import { createRequire } from "node:module";

/**
 * Picks the tfjs backend the torch layer runs on.
 *
 * `LIGHTNING_TS_BACKEND` (or `selectBackend(name)`) names one: `tensorflow` (tfjs-node /
 * tfjs-node-gpu, optional peers), `wasm`, `cpu` (pure JS) or `webgpu`. `auto` prefers
 * tfjs-node when it is installed, else WASM, else pure JS with a one-line notice.
 */
export type BackendName = "auto" | "tensorflow" | "wasm" | "cpu" | "webgpu";

const require = createRequire(import.meta.url);

export class BackendUnavailableError extends Error {}

function silenceCpuBanner(): void {
  // The pure-JS backend prints a multi-line "install tfjs-node" banner on first use.
  const cpu = tf.findBackend("cpu") as unknown as { firstUse?: boolean } | null;
  if (cpu) cpu.firstUse = false;
}

async function tryTensorflow(): Promise<boolean> {
  for (const pkg of ["@tensorflow/tfjs-node-gpu", "@tensorflow/tfjs-node"]) {
    try {
      require.resolve(pkg);
    } catch {
      continue;
    }
    require(pkg);
    return tf.setBackend("tensorflow");
  }
  return false;
}

async function tryWasm(): Promise<boolean> {
  const before = {
    uncaught: process.listeners("uncaughtException"),
    rejection: process.listeners("unhandledRejection"),
  };
  await import("@tensorflow/tfjs-backend-wasm");
  const ok = await tf.setBackend("wasm");
  // Emscripten's Node glue installs handlers that rethrow every uncaught error and print the
  // whole minified module as the "source line"; a user's own error must stay readable.
  for (const l of process.listeners("uncaughtException")) {
    if (!before.uncaught.includes(l)) process.removeListener("uncaughtException", l);
  }
  for (const l of process.listeners("unhandledRejection")) {
    if (!before.rejection.includes(l)) process.removeListener("unhandledRejection", l);
  }
  return ok;
}

async function tryWebgpu(): Promise<boolean> {
  const { initWebgpu } = await import("./webgpu");
  return initWebgpu();
}

const loaders: Record<Exclude<BackendName, "auto">, () => Promise<boolean>> = {
  tensorflow: tryTensorflow,
  wasm: tryWasm,
  cpu: async () => tf.setBackend("cpu"),
  webgpu: tryWebgpu,
};

const installHint: Record<Exclude<BackendName, "auto">, string> = {
  tensorflow: "npm install @tensorflow/tfjs-node (or @tensorflow/tfjs-node-gpu for CUDA)",
  wasm: "npm install @tensorflow/tfjs-backend-wasm@4.22.0",
  cpu: "npm install @tensorflow/tfjs-backend-cpu@4.22.0",
  webgpu: "npm install webgpu @tensorflow/tfjs-backend-webgpu@4.22.0 (and a Vulkan driver)",
};

let afterSelect: Array<(name: string) => void> = [];

/** Registers work to do each time a backend becomes active (kernel shims, …). */
export function onBackendSelected(fn: (name: string) => void): void {
  afterSelect.push(fn);
}

export async function selectBackend(requested: BackendName = "auto"): Promise<string> {
  silenceCpuBanner();
  if (requested === "auto") {
    if (await tryTensorflow().catch(() => false)) return finish();
    try {
      if (await tryWasm()) return finish();
    } catch {
      /* fall through to pure JS */
    }
    process.stderr.write("lightning-ts: WASM backend unavailable, using the pure-JS cpu backend (slow)\n");
    await tf.setBackend("cpu");
    return finish();
  }
  const load = loaders[requested];
  if (!load) {
    throw new BackendUnavailableError(
      `unknown backend '${requested}': use auto, tensorflow, wasm, cpu or webgpu`,
    );
  }
  let ok = false;
  let reason = "";
  try {
    ok = await load();
  } catch (e) {
    reason = e instanceof Error ? e.message : String(e);
  }
  if (!ok) {
    throw new BackendUnavailableError(
      `backend '${requested}' is not available${reason ? ` (${reason})` : ""}: ${installHint[requested]}`,
    );
  }
  return finish();
}

function finish(): string {
  silenceCpuBanner();
  const name = tf.getBackend();
  for (const fn of afterSelect) fn(name);
  return name;
}

export function backendFromEnv(): BackendName {
  const v = (process.env.LIGHTNING_TS_BACKEND ?? "auto").trim().toLowerCase();
  return (v === "" ? "auto" : v) as BackendName;
}
