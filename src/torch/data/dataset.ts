import { tf } from "../tf.ts";
import { HostMirror, hostBatching } from "./host_batch.ts";

/**
 * Map-style datasets, as in `torch.utils.data`: `length` items, `get(i)` for item `i`
 * (PyTorch's `__len__` / `__getitem__`).
 *
 * A dataset may also implement `getBatch(indices)`, the batched counterpart of `get`: it must
 * return exactly what the default collate would build from `indices.map(i => get(i))`, only
 * faster (one copy or gather per tensor instead of a slice per item and a stack). `DataLoader`
 * uses it when no `collateFn` is given. This is the role of PyTorch's `__getitems__`.
 */
export abstract class Dataset<T = unknown> {
  /** Number of items. A getter or a plain field in subclasses. */
  abstract readonly length: number;
  /** Item `index`, 0 <= index < length. */
  abstract get(index: number): T;
}

/** A dataset with the batched fast path (see `Dataset`). */
export interface BatchedDataset<T = unknown, B = unknown> extends Dataset<T> {
  getBatch(indices: readonly number[]): B;
}

export function hasGetBatch<T>(dataset: Dataset<T>): dataset is BatchedDataset<T> {
  return typeof (dataset as Partial<BatchedDataset<T>>).getBatch === "function";
}

export function checkIndex(index: number, length: number, who: string): void {
  if (!Number.isInteger(index) || index < 0 || index >= length) {
    throw new RangeError(`${who}: index ${index} out of range for a dataset of length ${length}`);
  }
}

/** One row of `t` along its first axis, without the leading dimension. */
function row(t: tf.Tensor, i: number): tf.Tensor {
  return tf.tidy(() => {
    const begin = t.shape.map((_, d) => (d === 0 ? i : 0));
    const size = t.shape.map((s, d) => (d === 0 ? 1 : s));
    return tf.reshape(tf.slice(t, begin, size), t.shape.slice(1));
  });
}

/** Row `i` of each tensor. */
export type TensorRows<T extends readonly tf.Tensor[]> = { -readonly [K in keyof T]: tf.Tensor };

/**
 * Items are tuples of the tensors' rows (`torch.utils.data.TensorDataset`). The tensors are
 * `tf.keep`-ed: the dataset holds them across steps, so a step scope or `tf.tidy` that was
 * open when they were made must not dispose them.
 */
export class TensorDataset<T extends tf.Tensor[] = tf.Tensor[]>
  extends Dataset<TensorRows<T>>
  implements BatchedDataset<TensorRows<T>, TensorRows<T>>
{
  readonly tensors: T;

  constructor(...tensors: T) {
    super();
    if (tensors.length === 0) throw new Error("TensorDataset: needs at least one tensor");
    tensors.forEach((t, k) => {
      if (!(t instanceof tf.Tensor)) throw new TypeError(`TensorDataset: argument ${k} is not a tf.Tensor`);
      if (t.rank === 0) throw new Error(`TensorDataset: tensor ${k} is a scalar; each tensor needs a first (sample) axis`);
    });
    const n = tensors[0].shape[0];
    const bad = tensors.findIndex((t) => t.shape[0] !== n);
    if (bad >= 0) {
      throw new Error(
        `TensorDataset: size mismatch between tensors: tensor 0 has ${n} rows, tensor ${bad} has ${tensors[bad].shape[0]}`,
      );
    }
    for (const t of tensors) tf.keep(t);
    this.tensors = tensors;
  }

  get length(): number {
    return this.tensors[0].shape[0];
  }

  get(index: number): TensorRows<T> {
    checkIndex(index, this.length, "TensorDataset");
    return this.tensors.map((t) => row(t, index)) as TensorRows<T>;
  }

  private mirrors: HostMirror[] | null = null;

  /**
   * The rows at `indices`, stacked: equal to collating `get(i)` for each index, built by
   * copying rows on the host on the CPU backends, by one `tf.gather` per tensor elsewhere
   * (see host_batch.ts).
   */
  getBatch(indices: readonly number[]): TensorRows<T> {
    for (const i of indices) checkIndex(i, this.length, "TensorDataset");
    if (hostBatching()) {
      this.mirrors ??= this.tensors.map((t) => new HostMirror(t));
      if (this.mirrors.every((m) => m.supported)) return this.mirrors.map((m) => m.gather(indices)) as TensorRows<T>;
    }
    return tf.tidy(() => {
      const idx = tf.tensor1d(indices as number[], "int32");
      return this.tensors.map((t) => tf.gather(t, idx));
    }) as TensorRows<T>;
  }
}

/** The items of `dataset` at `indices`, in that order (`torch.utils.data.Subset`). */
export class Subset<T = unknown> extends Dataset<T> {
  readonly dataset: Dataset<T>;
  readonly indices: readonly number[];
  /** Present when the underlying dataset has the batched fast path. */
  readonly getBatch?: (indices: readonly number[]) => unknown;

  constructor(dataset: Dataset<T>, indices: Iterable<number>) {
    super();
    this.dataset = dataset;
    this.indices = Array.from(indices);
    const n = dataset.length;
    for (const i of this.indices) checkIndex(i, n, "Subset");
    if (hasGetBatch(dataset)) {
      this.getBatch = (batch: readonly number[]) => {
        for (const i of batch) checkIndex(i, this.indices.length, "Subset");
        return dataset.getBatch(batch.map((i) => this.indices[i]));
      };
    }
  }

  get length(): number {
    return this.indices.length;
  }

  get(index: number): T {
    checkIndex(index, this.indices.length, "Subset");
    return this.dataset.get(this.indices[index]);
  }
}

/** Several datasets one after another (`torch.utils.data.ConcatDataset`). */
export class ConcatDataset<T = unknown> extends Dataset<T> {
  readonly datasets: readonly Dataset<T>[];
  /** Running totals of the lengths, like torch's `cumulative_sizes`. */
  readonly cumulativeSizes: readonly number[];

  constructor(datasets: Iterable<Dataset<T>>) {
    super();
    this.datasets = Array.from(datasets);
    if (this.datasets.length === 0) throw new Error("ConcatDataset: datasets should not be an empty iterable");
    let total = 0;
    this.cumulativeSizes = this.datasets.map((d) => (total += d.length));
  }

  get length(): number {
    return this.cumulativeSizes[this.cumulativeSizes.length - 1];
  }

  get(index: number): T {
    checkIndex(index, this.length, "ConcatDataset");
    // First dataset whose running total exceeds index (binary search, like torch's bisect_right).
    let lo = 0;
    let hi = this.cumulativeSizes.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.cumulativeSizes[mid] > index) hi = mid;
      else lo = mid + 1;
    }
    const start = lo === 0 ? 0 : this.cumulativeSizes[lo - 1];
    return this.datasets[lo].get(index - start);
  }
}
