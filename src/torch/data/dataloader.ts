import { closeStepScope, openStepScope, type StepScope } from "../autograd/step_scope.ts";
import { Generator } from "../random.ts";
import { defaultCollate, type Collated } from "./collate.ts";
import { hasGetBatch, type Dataset } from "./dataset.ts";
import { BatchSampler, RandomSampler, resolveGenerator, SequentialSampler, type Sized } from "./sampler.ts";
import type { tf } from "../tf.ts";

/**
 * The batch type of a bare `data.DataLoader` annotation (no type arguments: the item type is
 * `any`): a list of tensors, so `function train(loader: data.DataLoader)` accepts any loader of
 * tensor tuples (TensorDataset, MNIST, …) and `const [x, y] = batch` gives tensors. Loaders of
 * other batches (objects, strings) annotate their item type: `data.DataLoader<Item>`. With a
 * known item type, the batch is what `defaultCollate` makes of it.
 */
export type DefaultBatch<T> = 0 extends 1 & T ? tf.Tensor[] : Collated<T>;

export interface DataLoaderOptions<T, B> {
  /** Items per batch (default 1). */
  batchSize?: number;
  /** A new random order every epoch (default false). Mutually exclusive with `sampler`. */
  shuffle?: boolean;
  /** The index order (e.g. a `DistributedSampler`); replaces `shuffle`. */
  sampler?: Iterable<number> & Sized;
  /** Lists of indices, one per batch; replaces batchSize, shuffle, sampler and dropLast. */
  batchSampler?: Iterable<number[]> & Sized;
  /** Drop the last batch when it is smaller than batchSize (default false). */
  dropLast?: boolean;
  /** Generator or seed for the shuffle order. */
  generator?: Generator | number;
  /** Builds a batch from a list of items; default `defaultCollate`. */
  collateFn?: (items: T[]) => B;
  /**
   * Accepted for PyTorch parity and ignored: batches are built in this process (tfjs has one
   * engine per process, and a gather per batch is cheap next to a training step).
   */
  numWorkers?: number;
  /** Accepted for PyTorch parity and ignored (no pinned host memory in tfjs). */
  pinMemory?: boolean;
}

/**
 * Iterates a dataset in batches (`torch.utils.data.DataLoader`).
 *
 * Order. With `shuffle`, the loader owns a generator: the one given, one seeded by the given
 * number, or one seeded at construction by one draw from the data stream (`streams.data`,
 * reset by `manualSeed`). Each epoch (each iteration) takes a fresh permutation from it. So a
 * loader's order depends only on the seed and on how many epochs *it* has run: iterating
 * another loader first (a sanity validation pass before training, a test loader) never
 * changes the training order. A loader without shuffle draws nothing from the data stream.
 *
 * Memory. Iteration opens a step scope before building each batch and closes it when the
 * loop asks for the next batch, when the data ends, or when the loop leaves early (`break`,
 * `return`, a throw: the iterator's `return()` runs its `finally`). Closing a scope marks a step
 * boundary, where the torch layer collects what the program no longer references
 * (autograd/lifetime.ts); a batch or a result the program still holds stays valid, as in
 * PyTorch. Loops nest: an inner (validation) loader's scopes sit above the outer one's.
 *
 * Fast path: with the default collate and a dataset that has `getBatch` (TensorDataset,
 * Subset of one, SyntheticClassification, MNIST/FashionMNIST), a batch is built in one go
 * (rows copied on the host on the CPU backends, one `tf.gather` per tensor on device
 * backends: see host_batch.ts) instead of per-item slices and a stack. Measured on WASM with
 * Fashion-MNIST, batch 64: 0.3-0.4 ms per batch, ~3% of an MLP 784-128-10 training step.
 */
// `any` (not `unknown`) as the default item type: `collateFn` takes items, so a loader of
// `[Tensor, Tensor]` items would not be assignable to one of `unknown` items.
export class DataLoader<T = any, B = DefaultBatch<T>> implements Iterable<B>, AsyncIterable<B> {
  readonly dataset: Dataset<T>;
  /** null when a batchSampler was given. */
  readonly batchSize: number | null;
  readonly dropLast: boolean;
  readonly sampler: Iterable<number> & Sized;
  readonly batchSampler: Iterable<number[]> & Sized;
  readonly collateFn: (items: T[]) => B;
  /** The generator the shuffle order comes from (null when the loader never shuffles itself). */
  readonly generator: Generator | null;
  private readonly fetch: (indices: number[]) => B;

  constructor(dataset: Dataset<T>, options: DataLoaderOptions<T, B> = {}) {
    if (dataset == null || typeof dataset.get !== "function" || typeof dataset.length !== "number") {
      throw new TypeError("DataLoader: dataset must have a numeric `length` and a `get(index)` method");
    }
    this.dataset = dataset;
    const shuffle = options.shuffle ?? false;
    const dropLast = options.dropLast ?? false;
    if (options.batchSampler !== undefined) {
      if (options.batchSize !== undefined || shuffle || options.sampler !== undefined || dropLast) {
        throw new Error("DataLoader: batchSampler option is mutually exclusive with batchSize, shuffle, sampler, and dropLast");
      }
    }
    if (options.sampler !== undefined && shuffle) {
      throw new Error("DataLoader: sampler option is mutually exclusive with shuffle");
    }
    const batchSize = options.batchSize ?? 1;
    if (options.batchSampler === undefined && (!Number.isInteger(batchSize) || batchSize <= 0)) {
      throw new Error(`DataLoader: batchSize should be a positive integer value, but got batchSize=${batchSize}`);
    }

    if (shuffle) {
      this.generator = resolveGenerator(options.generator);
    } else if (options.generator !== undefined) {
      this.generator = resolveGenerator(options.generator);
    } else {
      this.generator = null;
    }

    if (options.batchSampler !== undefined) {
      this.batchSampler = options.batchSampler;
      this.sampler = new SequentialSampler(dataset);
      this.batchSize = null;
      this.dropLast = false;
    } else {
      this.sampler =
        options.sampler ?? (shuffle ? new RandomSampler(dataset, { generator: this.generator! }) : new SequentialSampler(dataset));
      this.batchSize = batchSize;
      this.dropLast = dropLast;
      this.batchSampler = new BatchSampler(this.sampler, batchSize, dropLast);
    }

    const collate = options.collateFn ?? (defaultCollate as unknown as (items: T[]) => B);
    this.collateFn = collate;
    if (collate === (defaultCollate as unknown) && hasGetBatch(dataset)) {
      this.fetch = (indices) => dataset.getBatch(indices) as B;
    } else {
      this.fetch = (indices) => collate(indices.map((i) => dataset.get(i)));
    }
  }

  /** Whether the order comes from a RandomSampler (what `shuffle: true` sets up). */
  get shuffle(): boolean {
    return this.sampler instanceof RandomSampler;
  }

  /** Number of batches per epoch. */
  get length(): number {
    return this.batchSampler.length;
  }

  *[Symbol.iterator](): Iterator<B> {
    const batches = this.batchSampler[Symbol.iterator]();
    let scope: StepScope | null = null;
    try {
      for (;;) {
        // The previous batch's step is over once the loop asks for the next one.
        if (scope) {
          closeStepScope(scope);
          scope = null;
        }
        const next = batches.next();
        if (next.done) return;
        scope = openStepScope();
        yield this.fetch(next.value);
      }
    } finally {
      if (scope) closeStepScope(scope);
      batches.return?.();
    }
  }

  async *[Symbol.asyncIterator](): AsyncIterator<B> {
    // Same scoping as the sync iterator; the loop body may await between batches.
    const batches = this.batchSampler[Symbol.iterator]();
    let scope: StepScope | null = null;
    try {
      for (;;) {
        if (scope) {
          closeStepScope(scope);
          scope = null;
        }
        const next = batches.next();
        if (next.done) return;
        scope = openStepScope();
        yield this.fetch(next.value);
      }
    } finally {
      if (scope) closeStepScope(scope);
      batches.return?.();
    }
  }
}
