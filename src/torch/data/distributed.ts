import { Generator } from "../random.ts";
import { Sampler, type Sized } from "./sampler.ts";

export interface DistributedSamplerOptions {
  /** Number of processes; default: env `WORLD_SIZE`, else 1. */
  numReplicas?: number;
  /** This process's rank; default: env `RANK`, else 0. */
  rank?: number;
  /** Shuffle each epoch (default true). */
  shuffle?: boolean;
  /** Base seed; every replica must use the same one (default 0). */
  seed?: number;
  /** Drop the tail instead of padding to a multiple of numReplicas (default false). */
  dropLast?: boolean;
}

function envInt(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw.trim() === "") return fallback;
  const v = Number(raw);
  if (!Number.isInteger(v)) throw new Error(`DistributedSampler: environment variable ${name}=${raw} is not an integer`);
  return v;
}

/**
 * The share of a dataset one replica visits (`torch.utils.data.distributed.DistributedSampler`),
 * with torch's algorithm:
 *   1. the order: a permutation seeded by `seed + epoch` (every replica computes the same one),
 *      or 0..n-1 without shuffle;
 *   2. without dropLast, pad to `totalSize` by repeating indices from the start; with it,
 *      truncate to `totalSize`;
 *   3. this replica takes `indices[rank : totalSize : numReplicas]`.
 * Call `setEpoch(epoch)` before each epoch, or every epoch repeats the same order.
 * The permutation comes from lightning-ts's generator, so it is not the same as torch's
 * `randperm` for the same seed; everything else is.
 */
export class DistributedSampler extends Sampler {
  readonly numReplicas: number;
  readonly rank: number;
  readonly shuffle: boolean;
  readonly seed: number;
  readonly dropLast: boolean;
  /** Indices per replica per epoch. */
  readonly numSamples: number;
  /** numSamples × numReplicas. */
  readonly totalSize: number;
  epoch = 0;

  constructor(
    readonly dataset: Sized,
    options: DistributedSamplerOptions = {},
  ) {
    super();
    this.numReplicas = options.numReplicas ?? envInt("WORLD_SIZE", 1);
    this.rank = options.rank ?? envInt("RANK", 0);
    if (!Number.isInteger(this.numReplicas) || this.numReplicas < 1) {
      throw new Error(`DistributedSampler: numReplicas must be a positive integer, got ${this.numReplicas}`);
    }
    if (!Number.isInteger(this.rank) || this.rank < 0 || this.rank >= this.numReplicas) {
      throw new Error(
        `DistributedSampler: invalid rank ${this.rank}, rank should be in the interval [0, ${this.numReplicas - 1}]`,
      );
    }
    this.shuffle = options.shuffle ?? true;
    this.seed = options.seed ?? 0;
    this.dropLast = options.dropLast ?? false;
    const n = dataset.length;
    // With dropLast and an uneven split, drop the tail so every replica gets the same count.
    this.numSamples =
      this.dropLast && n % this.numReplicas !== 0
        ? Math.ceil((n - this.numReplicas) / this.numReplicas)
        : Math.ceil(n / this.numReplicas);
    this.totalSize = this.numSamples * this.numReplicas;
  }

  get length(): number {
    return this.numSamples;
  }

  /** Sets the epoch the next iteration shuffles for (all replicas must agree). */
  setEpoch(epoch: number): void {
    this.epoch = epoch;
  }

  /** This replica's indices for the current epoch. */
  indices(): number[] {
    const n = this.dataset.length;
    let indices = this.shuffle
      ? new Generator(this.seed + this.epoch).randperm(n)
      : Array.from({ length: n }, (_, i) => i);
    if (!this.dropLast) {
      const padding = this.totalSize - indices.length;
      if (padding > 0 && indices.length === 0) throw new Error("DistributedSampler: cannot pad an empty dataset");
      if (padding <= indices.length) {
        indices = indices.concat(indices.slice(0, padding));
      } else {
        const reps = Math.ceil(padding / indices.length);
        let repeated: number[] = [];
        for (let r = 0; r < reps; r++) repeated = repeated.concat(indices);
        indices = indices.concat(repeated.slice(0, padding));
      }
    } else {
      indices = indices.slice(0, this.totalSize);
    }
    if (indices.length !== this.totalSize) {
      throw new Error(`DistributedSampler: internal error, ${indices.length} indices for totalSize ${this.totalSize}`);
    }
    const mine: number[] = [];
    for (let i = this.rank; i < this.totalSize; i += this.numReplicas) mine.push(indices[i]);
    return mine;
  }

  *[Symbol.iterator](): Iterator<number> {
    yield* this.indices();
  }
}
