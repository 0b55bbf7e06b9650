import { tf } from "../tf.ts";
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);

/**
 * WebGPU in Node through Dawn (the `webgpu` npm package). tfjs's WebGPU backend looks for
 * `navigator.gpu` when it is imported, so the global must exist first.
 */
export async function initWebgpu(): Promise<boolean> {
  const { create, globals } = require("webgpu") as {
    create: (opts: string[]) => unknown;
    globals: Record<string, unknown>;
  };
  Object.assign(globalThis, globals);
  const g = globalThis as unknown as { navigator?: { gpu?: unknown } };
  if (!g.navigator) Object.defineProperty(globalThis, "navigator", { value: {}, writable: true, configurable: true });
  (g.navigator as { gpu?: unknown }).gpu = create([]);
  require("@tensorflow/tfjs-backend-webgpu");
  return tf.setBackend("webgpu");
}
