import { tf } from "../tf.ts";

/**
 * Building batches on the host.
 *
 * On the CPU backends (pure-JS `cpu`, `wasm`) tensor data lives in host memory and
 * `tf.gather` runs an unvectorised per-element kernel: measured 2.8 ms (wasm) and 4 ms (cpu)
 * of CPU time for 64 rows of 784 floats, a third of a whole MLP training step. Copying the
 * same rows with `TypedArray.set` and creating the batch tensor from the result costs
 * 0.07–0.17 ms. On the other backends (WebGPU, tfjs-node) data lives on the device, where
 * `tf.gather` is the fast way and a host read would be a download (or, on WebGPU,
 * impossible synchronously), so they keep the gather.
 */
export function hostBatching(): boolean {
  const b = tf.getBackend();
  return b === "cpu" || b === "wasm";
}

export type HostArray = Float32Array | Int32Array | Uint8Array;

/** Rows `indices` of a row-major array with `rowSize` elements per row, into a new array. */
export function gatherRows<T extends HostArray>(src: T, rowSize: number, indices: readonly number[]): T {
  const out = new (src.constructor as new (n: number) => T)(indices.length * rowSize);
  if (rowSize >= 16) {
    for (let r = 0; r < indices.length; r++) {
      const from = indices[r] * rowSize;
      out.set(src.subarray(from, from + rowSize), r * rowSize);
    }
  } else {
    // Short rows (labels): a plain loop beats a subarray object per row.
    for (let r = 0; r < indices.length; r++) {
      const from = indices[r] * rowSize;
      for (let k = 0; k < rowSize; k++) out[r * rowSize + k] = src[from + k];
    }
  }
  return out;
}

/**
 * A host view of a tensor's data, refreshed when the tensor's data changes (a `tf.Variable`
 * that was assigned gets a new dataId). On the cpu backend `dataSync` hands back the backing
 * array itself, so this costs no memory; on wasm it is one copy, made on first use.
 */
export class HostMirror {
  private dataId: object | null = null;
  private values: HostArray | null = null;

  constructor(readonly tensor: tf.Tensor) {}

  /** Whether this tensor's dtype has a plain numeric host form. */
  get supported(): boolean {
    return this.tensor.dtype === "float32" || this.tensor.dtype === "int32" || this.tensor.dtype === "bool";
  }

  get(): HostArray {
    const t = this.tensor;
    if (t.isDisposed) throw new Error(`dataset tensor (${t.dtype} [${t.shape.join(", ")}]) was disposed`);
    if (this.values === null || this.dataId !== t.dataId) {
      this.values = t.dataSync() as HostArray;
      this.dataId = t.dataId;
    }
    return this.values;
  }

  /** Rows `indices` of the tensor as a new tensor [indices.length, ...rowShape]. */
  gather(indices: readonly number[]): tf.Tensor {
    const t = this.tensor;
    const rowShape = t.shape.slice(1);
    const rowSize = rowShape.reduce((a, b) => a * b, 1);
    return tf.tensor(gatherRows(this.get(), rowSize, indices), [indices.length, ...rowShape], t.dtype);
  }
}
