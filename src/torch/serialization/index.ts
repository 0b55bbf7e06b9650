/**
 * `save(obj, path)` / `load(path)`: `torch.save` / `torch.load` for lightning-ts.
 *
 * `obj` is any JSON-able value with tf.Tensors (variables included) and typed arrays nested
 * anywhere: a state dict, an optimizer's stateDict, a whole checkpoint. The file is a JSON
 * header followed by the raw little-endian tensor bytes (format: format.ts and
 * docs/checkpoint-format.md), written atomically (atomic_write.ts): a crash mid-save leaves
 * the previous file intact.
 *
 * Sync or async. `save` and `load` return Promises: reading tensor values with `await data()`
 * works on every backend (WebGPU has no synchronous read), and the write does not block the
 * event loop (DDP's sockets, progress bars). `saveSync` / `loadSync` are for scripts on
 * the CPU, WASM and tfjs-node backends. `save` takes its snapshot of the values when it is
 * called (before its first await), so training on while the write finishes is safe.
 *
 * `load` creates float32/int32/bool tensors on the active backend, as ordinary (not kept)
 * tensors: inside a step scope or `tf.tidy` they are disposed with it, which is what
 * `model.loadStateDict(await load(path))` wants. A tensor saved twice loads as one tensor;
 * variables load as plain tensors (a state dict is assigned into a model's own variables).
 * Typed arrays load as the same typed array class.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { CheckpointFormatError, decodeCheckpoint, encodeCheckpoint, planCheckpoint } from "./format.ts";
import { writeFileAtomic, writeFileAtomicSync } from "./atomic_write.ts";

export { CheckpointFormatError };
export { MAGIC as CHECKPOINT_MAGIC, FORMAT_VERSION as CHECKPOINT_FORMAT_VERSION } from "./format.ts";

/** Serializes `obj` to the checkpoint format in memory (synchronous tensor reads). */
export function serialize(obj: unknown): Uint8Array {
  const plan = planCheckpoint(obj, "serialize");
  return Buffer.concat(encodeCheckpoint(plan, plan.tensors.map((t) => t.dataSync())));
}

/** Parses bytes in the checkpoint format; `name` prefixes error messages. */
export function deserialize<T = unknown>(bytes: Uint8Array, name = "checkpoint"): T {
  return decodeCheckpoint(bytes, name) as T;
}

/** Writes `obj` to `file` atomically. Await it; errors name the file and the problem. */
export async function save(obj: unknown, file: string): Promise<void> {
  // Everything up to the first await runs now: the structure and the values are taken at call time.
  const plan = planCheckpoint(obj, "save");
  const pending = plan.tensors.map((t) => t.data());
  const values = await Promise.all(pending);
  await writeFileAtomic(file, encodeCheckpoint(plan, values as ArrayBufferView[]), "save");
}

/** `save` with synchronous tensor reads and write (not on the WebGPU backend). */
export function saveSync(obj: unknown, file: string): void {
  const plan = planCheckpoint(obj, "saveSync");
  writeFileAtomicSync(file, encodeCheckpoint(plan, plan.tensors.map((t) => t.dataSync())), "saveSync");
}

function readError(who: string, file: string, e: unknown): Error {
  const code = (e as NodeJS.ErrnoException)?.code;
  if (code === "ENOENT") return new Error(`${who}: no such file ${path.resolve(file)}`, { cause: e });
  return new Error(`${who}: cannot read ${path.resolve(file)}: ${(e as Error).message}`, { cause: e });
}

/** Reads a file written by `save`. `T` is the caller's claim about its structure. */
export async function load<T = unknown>(file: string): Promise<T> {
  let bytes: Uint8Array;
  try {
    bytes = await fs.promises.readFile(file);
  } catch (e) {
    throw readError("load", file, e);
  }
  return decodeCheckpoint(bytes, path.resolve(file)) as T;
}

/** `load`, synchronously. */
export function loadSync<T = unknown>(file: string): T {
  let bytes: Uint8Array;
  try {
    bytes = fs.readFileSync(file);
  } catch (e) {
    throw readError("loadSync", file, e);
  }
  return decodeCheckpoint(bytes, path.resolve(file)) as T;
}
