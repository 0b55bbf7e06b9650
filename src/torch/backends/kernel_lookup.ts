import type { KernelConfig } from "@tensorflow/tfjs-core";
import { tf } from "../tf.ts";

/**
 * `tf.getKernel`, cached. tfjs keys its registry by a string it concatenates on every call
 * (`wasm_BatchMatMul`), so each lookup hashes a new string (~0.8 µs), and an MLP step asks ~40
 * times: every dispatch, every kernel a shim runs, every tensor saved for backward. Here the
 * backend and kernel names are the keys, constants whose hashes V8 keeps. The cache is dropped
 * whenever the registry changes: tfjs keeps it as a Map in its global namespace (one for every
 * copy of tfjs-core in the process), whose `set` and `delete` are watched.
 */
type Registry = Map<string, KernelConfig>;

const cache = new Map<string, Map<string, KernelConfig | null>>();
let watching = false;

function watchRegistry(): boolean {
  const globals = (globalThis as { _tfGlobals?: Map<string, unknown> })._tfGlobals;
  const registry = globals?.get("kernelRegistry") as Registry | undefined;
  if (registry === undefined) return false;
  const { set, delete: remove, clear } = registry;
  registry.set = function (this: Registry, key: string, config: KernelConfig) {
    cache.clear();
    return set.call(this, key, config);
  };
  registry.delete = function (this: Registry, key: string) {
    cache.clear();
    return remove.call(this, key);
  };
  registry.clear = function (this: Registry) {
    cache.clear();
    clear.call(this);
  };
  watching = true;
  return true;
}

export function findKernel(kernelName: string, backendName: string): KernelConfig | undefined {
  if (!watching && !watchRegistry()) return tf.getKernel(kernelName, backendName);
  let kernels = cache.get(backendName);
  if (kernels === undefined) {
    kernels = new Map();
    cache.set(backendName, kernels);
  }
  let config = kernels.get(kernelName);
  if (config === undefined) {
    config = tf.getKernel(kernelName, backendName) ?? null;
    kernels.set(kernelName, config);
  }
  return config ?? undefined;
}
