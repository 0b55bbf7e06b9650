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
  const gpu = create([]) as { requestAdapter(): Promise<unknown> };
  (g.navigator as { gpu?: unknown }).gpu = gpu;
  // (tfjs's own start would fail on a missing adapter with a TypeError about `features`)
  if (!(await gpu.requestAdapter())) throw new Error("Dawn found no WebGPU adapter (is a Vulkan driver installed?)");
  require("@tensorflow/tfjs-backend-webgpu");
  const ok = await tf.setBackend("webgpu");
  if (ok) readSynchronously(tf.backend() as unknown as WebGPUBackendInternals);
  return ok;
}

/** The parts of tfjs-backend-webgpu's `WebGPUBackend` a synchronous read uses (4.22). */
interface WebGPUBackendInternals {
  readSync(dataId: object): unknown;
  tensorMap: { get(dataId: object): { values: unknown; dtype: string; resource: GPUBufferLike } };
  bufferManager: { acquireBuffer(size: number, usage: number): GPUBufferLike; releaseBuffer(b: GPUBufferLike): void };
  commandEncoder: { copyBufferToBuffer(src: GPUBufferLike, so: number, dst: GPUBufferLike, doff: number, size: number): void };
  ensureCommandEncoderReady(): void;
  endComputePassEncoder(): void;
  submitQueue(): void;
  convertAndCacheOnCPU(dataId: object, values: unknown): unknown;
}

interface GPUBufferLike {
  size: number;
  mapState: "unmapped" | "pending" | "mapped";
  mapAsync(mode: number): Promise<void>;
  getMappedRange(): ArrayBuffer;
  unmap(): void;
}

/**
 * `dataSync()` / `item()` on WebGPU. tfjs reads synchronously through an OffscreenCanvas, which
 * Node does not have; Dawn completes a buffer mapping only when the event loop turns, and a
 * script's `loss.item()` cannot wait for a turn. So the read copies the tensor's buffer to a
 * staging buffer, asks for the mapping, and runs the event loop in place (`deasync`) until Dawn
 * has mapped it — what tfjs's own asynchronous `read` does, blocking, as PyTorch's `.item()`
 * blocks on the GPU. Other callbacks due in the meantime (timers, I/O) run during that wait.
 */
function readSynchronously(backend: WebGPUBackendInternals): void {
  let loopWhile: ((condition: () => boolean) => void) | null = null;
  try {
    loopWhile = (require("deasync") as { loopWhile: (condition: () => boolean) => void }).loopWhile;
  } catch {
    // Without it, tfjs's own read is left in place (it fails in Node: no OffscreenCanvas).
    return;
  }
  const original = backend.readSync.bind(backend);
  const g = globalThis as unknown as { GPUBufferUsage: { COPY_DST: number; MAP_READ: number }; GPUMapMode: { READ: number } };
  backend.readSync = (dataId: object) => {
    const data = backend.tensorMap.get(dataId);
    if (data.values != null || data.dtype === "string" || data.dtype === "complex64") return original(dataId);
    const source = data.resource;
    const staging = backend.bufferManager.acquireBuffer(source.size, g.GPUBufferUsage.COPY_DST | g.GPUBufferUsage.MAP_READ);
    backend.ensureCommandEncoderReady();
    backend.endComputePassEncoder();
    backend.commandEncoder.copyBufferToBuffer(source, 0, staging, 0, source.size);
    backend.submitQueue();
    let failure: unknown = null;
    staging.mapAsync(g.GPUMapMode.READ).catch((e: unknown) => (failure = e));
    loopWhile!(() => staging.mapState === "pending" && failure === null);
    if (failure !== null || staging.mapState !== "mapped") {
      backend.bufferManager.releaseBuffer(staging);
      throw new Error(`WebGPU: reading a tensor back failed (${failure instanceof Error ? failure.message : String(failure ?? staging.mapState)})`);
    }
    const bytes = staging.getMappedRange().slice(0);
    staging.unmap();
    backend.bufferManager.releaseBuffer(staging);
    return backend.convertAndCacheOnCPU(dataId, tf.util.convertBackendValuesAndArrayBuffer(bytes, data.dtype as tf.DataType));
  };
}
