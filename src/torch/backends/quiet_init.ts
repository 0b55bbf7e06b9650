import { tf } from "../tf.ts";

/**
 * Keeps tfjs backends from talking to the user's terminal when they start.
 *
 * - The pure-JS backend prints a multi-line "Hi, looks like you are running TensorFlow.js in
 *   Node.js…" banner on its first tensor write. The engine creates that backend lazily, and
 *   anew after `removeBackend`/`engine.reset`, so setting `firstUse = false` on today's
 *   instance is not enough: the factory is wrapped so every instance is born quiet.
 * - Emscripten's Node glue (the WASM backend) adds `uncaughtException`/`unhandledRejection`
 *   handlers that rethrow, so any error in the user's script is reported with the whole
 *   minified module as its "source line". Handlers with that exact shape, added while a
 *   backend initialises, are removed again; nobody else's handlers are touched.
 */

interface FactoryEntry {
  factory: () => unknown;
  priority: number;
}

interface EngineRegistries {
  registryFactory: Record<string, FactoryEntry>;
  registry: Record<string, unknown>;
}

const WRAPPED = Symbol("lightning-ts quiet factory");

function registries(): EngineRegistries {
  return tf.engine() as unknown as EngineRegistries;
}

function silence(backend: unknown): void {
  if (backend && typeof backend === "object" && "firstUse" in backend) {
    (backend as { firstUse: boolean }).firstUse = false;
  }
}

/** Emscripten's rethrowing handlers: `function(ex){if(!(ex instanceof ExitStatus))throw ex}` and `function(reason){throw reason}`. */
function isEmscriptenRethrow(listener: (...args: never[]) => void): boolean {
  const src = Function.prototype.toString.call(listener).replace(/\s+/g, "");
  return /instanceofExitStatus\)\)\{?throw/.test(src) || /^function\((\w+)\)\{throw\1;?\}$/.test(src);
}

function removeEmscriptenHandlers(before: Set<unknown>): void {
  for (const l of process.listeners("uncaughtException")) {
    if (!before.has(l) && isEmscriptenRethrow(l)) process.removeListener("uncaughtException", l);
  }
  for (const l of process.listeners("unhandledRejection")) {
    if (!before.has(l) && isEmscriptenRethrow(l)) process.removeListener("unhandledRejection", l);
  }
}

function processHandlers(): Set<unknown> {
  return new Set<unknown>([...process.listeners("uncaughtException"), ...process.listeners("unhandledRejection")]);
}

function wrapFactory(entry: FactoryEntry): void {
  const original = entry.factory as (() => unknown) & { [WRAPPED]?: true };
  if (original[WRAPPED]) return;
  const quiet = (() => {
    const before = processHandlers();
    const made = original();
    if (made && typeof (made as Promise<unknown>).then === "function") {
      // WASM's module (and its handlers) comes into being asynchronously.
      return (made as Promise<unknown>).then(
        (backend) => {
          removeEmscriptenHandlers(before);
          silence(backend);
          return backend;
        },
        (err: unknown) => {
          removeEmscriptenHandlers(before);
          throw err;
        },
      );
    }
    removeEmscriptenHandlers(before);
    silence(made);
    return made;
  }) as (() => unknown) & { [WRAPPED]?: true };
  quiet[WRAPPED] = true;
  entry.factory = quiet;
}

/**
 * Wraps every backend factory registered so far and silences instances already created.
 * Idempotent; call again after loading a backend package.
 */
export function quietBackendInit(): void {
  const { registryFactory, registry } = registries();
  for (const name of Object.keys(registryFactory)) wrapFactory(registryFactory[name]);
  for (const name of Object.keys(registry)) silence(registry[name]);
}
