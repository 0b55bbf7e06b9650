import type { DataType, KernelConfig, NamedAttrMap, TensorInfo } from "@tensorflow/tfjs-core";
import { tf } from "../../tf.ts";
import { findKernel } from "../kernel_lookup.ts";

/** Float32Array or Int32Array: the element arrays a shim reads and writes. */
export type NumericArray = Float32Array | Int32Array;

/** A numeric array, or a bool tensor's bytes (0 or 1). */
export type ElementArray = NumericArray | Uint8Array;

/** The members of the WASM backend a shim uses (tfjs-backend-wasm's `BackendWasm`). */
interface WasmBackendMemory {
  makeOutput(shape: number[], dtype: DataType): TensorInfo;
  typedArrayFromHeap(info: TensorInfo): NumericArray | Uint8Array;
}

/** The members of the pure-JS backend a shim uses (tfjs-backend-cpu's `MathBackendCPU`). */
interface CpuBackendMemory {
  makeTensorInfo(shape: number[], dtype: DataType, values?: ElementArray): TensorInfo;
  readSync(dataId: object): unknown;
}

/** tfjs's per-backend `DataStorage`: `get` moves data from another backend when needed. */
interface DataStorageLike {
  get(dataId: object): unknown;
}

/**
 * What a shim kernel may do with its backend while it runs.
 *
 * A kernelFunc receives TensorInfos and the backend, not tensors: wrapping an input in a new
 * engine tensor (`makeTensorFromTensorInfo`) would give the same data two owners, and
 * disposing either corrupts the other. Shims therefore work on the backend's own level, as
 * tfjs's built-in kernels do: they call other registered kernelFuncs of the same backend,
 * read and write element arrays in place, and free every intermediate before returning, so
 * the engine sees exactly one new data id per output.
 */
export class KernelContext {
  private readonly temps: TensorInfo[] = [];

  constructor(
    readonly backend: object,
    readonly backendName: string,
  ) {}

  private get wasm(): WasmBackendMemory {
    return this.backend as WasmBackendMemory;
  }

  private get cpu(): CpuBackendMemory {
    return this.backend as CpuBackendMemory;
  }

  private disposeData(info: TensorInfo): void {
    (this.backend as { disposeData(dataId: object): boolean }).disposeData(info.dataId);
  }

  private get onWasmHeap(): boolean {
    return typeof (this.backend as Partial<WasmBackendMemory>).typedArrayFromHeap === "function";
  }

  /**
   * Brings every input's data onto this backend now. tfjs moves data lazily, on the first read
   * by a backend; on WASM that move allocates, and a heap growth would detach element arrays
   * the shim had already taken from other inputs.
   */
  moveHere(inputs: Record<string, TensorInfo | undefined>): void {
    const storage = (this.backend as { dataIdMap?: DataStorageLike; data?: DataStorageLike }).dataIdMap ??
      (this.backend as { data?: DataStorageLike }).data;
    if (!storage) return;
    for (const name in inputs) {
      const t = inputs[name];
      if (t) storage.get(t.dataId);
    }
  }

  /** Runs another kernel of this backend. Its output is an intermediate unless returned. */
  run(kernelName: string, inputs: Record<string, TensorInfo> | TensorInfo[], attrs: NamedAttrMap = {}): TensorInfo {
    const config = findKernel(kernelName, this.backendName);
    if (!config) {
      throw new Error(`lightning-ts: kernel '${kernelName}' is not registered for backend '${this.backendName}'`);
    }
    return this.runConfig(config, inputs, attrs);
  }

  /** Runs a given kernel of this backend (tfjs's own one that a shim replaced, say); as `run`. */
  runConfig(config: KernelConfig, inputs: Record<string, TensorInfo> | TensorInfo[], attrs: NamedAttrMap = {}): TensorInfo {
    const kernelName = config.kernelName;
    const out = config.kernelFunc({
      inputs: inputs as Record<string, TensorInfo>,
      backend: this.backend,
      attrs,
    });
    if (Array.isArray(out)) {
      for (const o of out) this.temps.push(o);
      throw new Error(`lightning-ts: kernel '${kernelName}' returned several outputs where one was expected`);
    }
    this.temps.push(out);
    return out;
  }

  /**
   * A new tensor of this backend with unspecified contents (an intermediate unless returned),
   * for buffers the caller overwrites completely.
   *
   * On WASM, allocating may grow the heap, which detaches every element array taken earlier:
   * take arrays with `values()` only after the allocations and kernel runs they must survive.
   */
  empty(shape: number[], dtype: "float32" | "int32" | "bool"): TensorInfo {
    let info: TensorInfo;
    if (this.onWasmHeap) {
      info = this.wasm.makeOutput(shape, dtype);
    } else {
      const size = shape.reduce((a, b) => a * b, 1);
      const values = dtype === "int32" ? new Int32Array(size) : dtype === "bool" ? new Uint8Array(size) : new Float32Array(size);
      info = this.cpu.makeTensorInfo(shape, dtype, values);
    }
    this.temps.push(info);
    return info;
  }

  /** Makes a tensor produced elsewhere on this backend (a WebGPU program's output) an intermediate of this kernel. */
  adopt(info: TensorInfo): TensorInfo {
    this.temps.push(info);
    return info;
  }

  /** A new zero-filled tensor (see `empty`). */
  zeros(shape: number[], dtype: "float32" | "int32"): TensorInfo {
    const info = this.empty(shape, dtype);
    // The pure-JS backend's fresh arrays are already zero; WASM heap memory is reused.
    if (this.onWasmHeap) this.values(info).fill(0);
    return info;
  }

  /** Frees an intermediate now rather than at the end (large per-chunk buffers). */
  free(info: TensorInfo): void {
    const i = this.temps.indexOf(info);
    if (i < 0) throw new Error("lightning-ts: kernel shim tried to free a tensor it does not own");
    this.temps.splice(i, 1);
    this.disposeData(info);
  }

  /** The elements of a float32/int32 tensor, in place (no copy): never write into an input. */
  values(info: TensorInfo): NumericArray {
    if (info.dtype !== "float32" && info.dtype !== "int32") {
      throw new Error(`lightning-ts: kernel shim got a ${info.dtype} tensor; only float32 and int32 are supported`);
    }
    const v = this.onWasmHeap ? this.wasm.typedArrayFromHeap(info) : this.cpu.readSync(info.dataId);
    if (!(v instanceof Float32Array || v instanceof Int32Array)) {
      throw new Error(`lightning-ts: backend '${this.backendName}' returned no element array for a ${info.dtype} tensor`);
    }
    return v;
  }

  /** The elements of a float32, int32 or bool tensor (bytes, 0 or 1), in place: never write into an input. */
  elements(info: TensorInfo): ElementArray {
    if (info.dtype !== "bool") return this.values(info);
    // (the pure-JS backend's readSync copies bool data: its stored array, as its own kernels read it)
    const v = this.onWasmHeap ? this.wasm.typedArrayFromHeap(info) : ((this.backend as { data: DataStorageLike }).data.get(info.dataId) as { values: unknown }).values;
    if (!(v instanceof Uint8Array)) throw new Error(`lightning-ts: backend '${this.backendName}' returned no byte array for a bool tensor`);
    return v;
  }

  /** Float32 elements; int32 inputs are converted (a copy), float32 ones are read in place. */
  floats(info: TensorInfo): Float32Array {
    const v = this.values(info);
    return v instanceof Float32Array ? v : Float32Array.from(v);
  }

  /**
   * Frees every intermediate except `keep` (the kernel's output) and returns `keep`. The output
   * must be one this context made: returning an input would hand its data a second owner.
   */
  finish(keep: TensorInfo): TensorInfo {
    if (!this.temps.includes(keep)) {
      this.releaseAll();
      throw new Error("lightning-ts: a kernel shim must return a tensor it created, not one of its inputs");
    }
    this.releaseAll(keep);
    return keep;
  }

  /** As `finish`, for a kernel with several outputs. */
  finishAll(keep: TensorInfo[]): TensorInfo[] {
    if (!keep.every((k) => this.temps.includes(k))) {
      this.releaseAll();
      throw new Error("lightning-ts: a kernel shim must return tensors it created, not its inputs");
    }
    for (const t of this.temps) if (!keep.includes(t)) this.disposeData(t);
    this.temps.length = 0;
    return keep;
  }

  /**
   * Frees every intermediate except `keep`. Matching is by object, not data id: a reshape
   * shares its source's data and holds its own reference, which must still be released.
   */
  releaseAll(keep?: TensorInfo): void {
    for (const t of this.temps) {
      if (t !== keep) this.disposeData(t);
    }
    this.temps.length = 0;
  }
}

/**
 * Wraps a shim body so its intermediates are freed on every path, including a thrown error.
 */
export function shimKernel(
  backendName: string,
  body: (ctx: KernelContext, inputs: Record<string, TensorInfo>, attrs: NamedAttrMap) => TensorInfo | TensorInfo[],
): (args: { inputs: Record<string, TensorInfo | undefined>; backend: object; attrs?: NamedAttrMap }) => TensorInfo | TensorInfo[] {
  return ({ inputs, backend, attrs }) => {
    const ctx = new KernelContext(backend, backendName);
    ctx.moveHere(inputs);
    try {
      const out = body(ctx, inputs as Record<string, TensorInfo>, attrs ?? {});
      return Array.isArray(out) ? ctx.finishAll(out) : ctx.finish(out);
    } catch (e) {
      ctx.releaseAll();
      throw e;
    }
  };
}
