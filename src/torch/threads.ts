/**
 * `torch.get_num_threads()` / `torch.set_num_threads(n)`. lightning-ts's thread count is the
 * WASM backend's pool (`LIGHTNING_TS_NUM_THREADS`, read when `lightning-ts/torch` is imported;
 * 1 by default, the single-threaded build, which starts synchronously); the pool is made when
 * the backend starts and cannot be resized after, so `setNumThreads` can only confirm it.
 */
import { tf } from "./tf.ts";
import { wasmThreads } from "./backends/wasm.ts";
import { parseThreadCount } from "./backends/wasm_threads.ts";

/** Threads the running backend computes with: the WASM pool's size; 1 for the pure-JS backend. */
export function getNumThreads(): number {
  return tf.getBackend() === "wasm" ? Math.max(1, wasmThreads()) : 1;
}

let warned = false;

/**
 * PyTorch's `set_num_threads`, for scripts that call it: a no-op when `n` is the running count;
 * otherwise it warns once (the pool is sized at startup) and training goes on with the count it has.
 */
export function setNumThreads(n: number): void {
  const threads = parseThreadCount(n, "setNumThreads()");
  const running = getNumThreads();
  if (threads === running || warned) return;
  warned = true;
  process.emitWarning(
    `setNumThreads(${threads}) has no effect: the ${tf.getBackend()} backend started with ${running} thread(s). ` +
      `Set LIGHTNING_TS_NUM_THREADS=${threads} in the environment to start the WASM backend with ${threads} threads (and await ready() before the first tensor op).`,
  );
}
