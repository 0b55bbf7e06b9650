/**
 * Formatting of the output with prettier, using the user's prettier configuration for that
 * file when there is one (`.prettierrc`, `package.json#prettier`, `.editorconfig`), prettier's
 * defaults otherwise. Prettier keeps comments; it also normalises the whitespace the edits
 * leave behind, which is why the transforms do not try to indent what they insert.
 *
 * The CLI may call `startFormatWorker()` first thing: prettier then loads and warms up in a
 * worker thread while the main thread loads TypeScript and migrates (on a cold start the two
 * take about as long as each other), and formatting one file overlaps migrating the next.
 */
import { Worker } from "node:worker_threads";
import { InternalError } from "./errors.ts";

type Prettier = typeof import("prettier");
type Options = import("prettier").Options;
let prettierModule: Promise<Prettier> | null = null;

function loadPrettier(): Promise<Prettier> {
  prettierModule ??= import("prettier");
  return prettierModule;
}

// ---- optional worker ---------------------------------------------------------------------------

interface Pending {
  resolve: (output: unknown) => void;
  reject: (error: Error) => void;
}
let worker: Worker | null = null;
let workerFailed = false;
const pending = new Map<number, Pending>();
let nextId = 0;

export function startFormatWorker(): void {
  if (worker || workerFailed) return;
  try {
    worker = new Worker(new URL("./format-worker.mjs", import.meta.url));
  } catch {
    workerFailed = true;
    return;
  }
  // Idle, the worker must not keep the process alive; `format` refs it while it waits.
  worker.unref();
  worker.on("message", (m: { id?: number; output?: unknown; error?: string }) => {
    if (m.id === undefined) return;
    const p = pending.get(m.id);
    if (!p) return;
    pending.delete(m.id);
    if (pending.size === 0) worker?.unref();
    if (m.error !== undefined) p.reject(new Error(m.error));
    else p.resolve(m.output);
  });
  const fail = (error: unknown) => {
    // Fall back to formatting in this thread, for the pending requests too.
    workerFailed = true;
    worker = null;
    for (const p of pending.values()) p.reject(Object.assign(new Error(String(error)), { workerDied: true }));
    pending.clear();
  };
  worker.on("error", fail);
  worker.on("exit", (code) => {
    if (pending.size > 0) fail(new Error(`prettier worker exited with ${code}`));
    worker = null;
  });
}

export async function stopFormatWorker(): Promise<void> {
  const w = worker;
  worker = null;
  if (w) await w.terminate();
}

function askWorker<T>(request: { op: "format"; text: string; options: Options } | { op: "resolveConfig"; filePath: string }): Promise<T> {
  const id = nextId++;
  worker!.ref();
  return new Promise((resolve, reject) => {
    pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
    worker!.postMessage({ id, ...request });
  });
}

/** Runs `inWorker` when the worker is up (falling back if it dies), else `here`. */
async function viaWorker<T>(inWorker: () => Promise<T>, here: () => Promise<T>): Promise<T> {
  if (worker) {
    try {
      return await inWorker();
    } catch (error) {
      if (!(error as { workerDied?: boolean }).workerDied) throw error;
    }
  }
  return here();
}

// ---- formatting -------------------------------------------------------------------------------

export async function formatTypeScript(text: string, filePath?: string): Promise<string> {
  let config: Options | null = null;
  if (filePath) {
    try {
      config = await viaWorker(
        () => askWorker<Options | null>({ op: "resolveConfig", filePath }),
        async () => (await loadPrettier()).resolveConfig(filePath, { editorconfig: true }),
      );
    } catch {
      // An unreadable or invalid config should not stop a migration: defaults are still valid output.
      config = null;
    }
  }
  // Prettier's "typescript" parser bundles a second copy of the TypeScript compiler, whose load
  // and first parse cost more than the rest of a migration; "babel-ts" prints the same output
  // (checked on every fixture and test script) and the "typescript" parser remains the fallback
  // for syntax babel does not know.
  const attempts: Options[] = [];
  const options: Options = { ...(config ?? {}) };
  if (config?.parser) attempts.push(options);
  // (TSX: babel-ts can read `<T>(x) =>` as JSX, so the typescript parser goes first there.)
  const parsers = filePath?.endsWith(".tsx") ? ["typescript"] : ["babel-ts", "typescript"];
  for (const parser of parsers) attempts.push({ ...options, parser });
  // A config naming plugins that are not installed: prettier's defaults still give valid output.
  if (config) attempts.push({ parser: "typescript" });
  let firstError: unknown = null;
  for (const attempt of attempts) {
    try {
      const here = async () => (await loadPrettier()).format(text, attempt);
      // Plugins given as objects cannot cross to the worker; those configs format here.
      const portable = (attempt.plugins ?? []).every((p) => typeof p === "string");
      return await (portable ? viaWorker(() => askWorker<string>({ op: "format", text, options: attempt }), here) : here());
    } catch (error) {
      firstError ??= error;
    }
  }
  const message = firstError instanceof Error ? firstError.message.split("\n")[0] : String(firstError);
  throw new InternalError(`the migrated code does not parse (${message}); please report this with the input script`);
}
