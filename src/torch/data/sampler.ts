import { Generator, streams } from "../random.ts";

/**
 * Samplers: the order in which a DataLoader visits dataset indices (`torch.utils.data.sampler`).
 * A sampler is iterable over indices and knows how many it yields; each iteration is an epoch.
 */
export abstract class Sampler implements Iterable<number> {
  abstract readonly length: number;
  abstract [Symbol.iterator](): Iterator<number>;
}

/** Anything with a length: samplers only need the size of the data source. */
export interface Sized {
  readonly length: number;
}

/**
 * A generator given as a number is a seed for a generator of its own. None given: one is
 * seeded now from the data stream (`manualSeed` controls it), so the order this sampler
 * produces never depends on how many other samplers or loaders iterate before it.
 */
export function resolveGenerator(generator: Generator | number | undefined): Generator {
  if (generator instanceof Generator) return generator;
  if (typeof generator === "number") {
    if (!Number.isFinite(generator)) throw new Error(`generator seed must be a finite number, got ${generator}`);
    return new Generator(Math.floor(Math.abs(generator)));
  }
  return new Generator(streams.data.nextUint32());
}

/** 0, 1, …, n-1 in order. */
export class SequentialSampler extends Sampler {
  constructor(readonly dataSource: Sized) {
    super();
  }

  get length(): number {
    return this.dataSource.length;
  }

  *[Symbol.iterator](): Iterator<number> {
    const n = this.dataSource.length;
    for (let i = 0; i < n; i++) yield i;
  }
}

export interface RandomSamplerOptions {
  /** Draw with replacement (default false). */
  replacement?: boolean;
  /** How many indices per epoch (default: the dataset's length). */
  numSamples?: number;
  /** Generator or seed; default: a generator seeded from the data stream at construction. */
  generator?: Generator | number;
}

/**
 * A fresh random order each epoch (`torch.utils.data.RandomSampler`). Without replacement it
 * yields whole permutations, then a prefix of one more for `numSamples % n`, as torch does.
 */
export class RandomSampler extends Sampler {
  readonly replacement: boolean;
  readonly generator: Generator;
  private readonly requestedNumSamples: number | undefined;

  constructor(
    readonly dataSource: Sized,
    options: RandomSamplerOptions = {},
  ) {
    super();
    this.replacement = options.replacement ?? false;
    const ns = options.numSamples;
    if (ns !== undefined && (!Number.isInteger(ns) || ns <= 0)) {
      throw new Error(`RandomSampler: numSamples should be a positive integer value, but got numSamples=${ns}`);
    }
    this.requestedNumSamples = ns;
    this.generator = resolveGenerator(options.generator);
  }

  get numSamples(): number {
    return this.requestedNumSamples ?? this.dataSource.length;
  }

  get length(): number {
    return this.numSamples;
  }

  *[Symbol.iterator](): Iterator<number> {
    const n = this.dataSource.length;
    const total = this.numSamples;
    if (n === 0) return;
    if (this.replacement) {
      for (let i = 0; i < total; i++) yield this.generator.randint(n);
      return;
    }
    for (let k = 0; k < Math.floor(total / n); k++) yield* this.generator.randperm(n);
    const rest = total % n;
    if (rest > 0) yield* this.generator.randperm(n).slice(0, rest);
  }
}

/** A random order of the given indices each epoch (`torch.utils.data.SubsetRandomSampler`). */
export class SubsetRandomSampler extends Sampler {
  readonly indices: readonly number[];
  readonly generator: Generator;

  constructor(indices: Iterable<number>, options: { generator?: Generator | number } = {}) {
    super();
    this.indices = Array.from(indices);
    this.generator = resolveGenerator(options.generator);
  }

  get length(): number {
    return this.indices.length;
  }

  *[Symbol.iterator](): Iterator<number> {
    for (const i of this.generator.randperm(this.indices.length)) yield this.indices[i];
  }
}

/** Groups another sampler's indices into lists of `batchSize` (`torch.utils.data.BatchSampler`). */
export class BatchSampler implements Iterable<number[]> {
  constructor(
    readonly sampler: Iterable<number> & Sized,
    readonly batchSize: number,
    readonly dropLast: boolean,
  ) {
    if (!Number.isInteger(batchSize) || batchSize <= 0) {
      throw new Error(`BatchSampler: batchSize should be a positive integer value, but got batchSize=${batchSize}`);
    }
  }

  get length(): number {
    const n = this.sampler.length;
    return this.dropLast ? Math.floor(n / this.batchSize) : Math.ceil(n / this.batchSize);
  }

  *[Symbol.iterator](): Iterator<number[]> {
    let batch: number[] = [];
    for (const i of this.sampler) {
      batch.push(i);
      if (batch.length === this.batchSize) {
        yield batch;
        batch = [];
      }
    }
    if (batch.length > 0 && !this.dropLast) yield batch;
  }
}
