import { DataLoader } from "../../torch/data/dataloader.ts";
import { DistributedSampler } from "../../torch/data/distributed.ts";
import { RandomSampler, SequentialSampler } from "../../torch/data/sampler.ts";
import { MisconfigurationError } from "../errors.ts";
import type { DistributedSamplerSettings } from "../strategies/strategy.ts";

/**
 * Rebuilds `loader` so that each process visits its own share of the data (Lightning's
 * distributed-sampler insertion): same dataset, batch size, dropLast and collate function, the
 * order from a `DistributedSampler` that shuffles when the original loader did. The seed is
 * `PL_GLOBAL_SEED` (set by `seedEverything`), so every rank draws the same permutation.
 * A loader that already has a DistributedSampler is returned as is.
 */
export function withDistributedSampler<L extends DataLoader<any, any>>(loader: L, settings: DistributedSamplerSettings): L {
  if (loader.sampler instanceof DistributedSampler) return loader;
  if (loader.batchSize === null) {
    throw new MisconfigurationError(
      "setupDataloaders(): this DataLoader was built with a custom batchSampler, so a DistributedSampler cannot be " +
        "inserted; build it with a DistributedSampler yourself, or pass { useDistributedSampler: false }",
    );
  }
  const sampler = loader.sampler;
  if (!(sampler instanceof RandomSampler) && !(sampler instanceof SequentialSampler)) {
    throw new MisconfigurationError(
      `setupDataloaders(): this DataLoader uses a custom sampler (${sampler.constructor?.name ?? typeof sampler}), which ` +
        "cannot be split across processes automatically; give it a DistributedSampler yourself, or pass " +
        "{ useDistributedSampler: false }",
    );
  }
  const seed = Number(process.env.PL_GLOBAL_SEED ?? 0);
  const distributed = new DistributedSampler(loader.dataset, {
    numReplicas: settings.numReplicas,
    rank: settings.rank,
    shuffle: sampler instanceof RandomSampler,
    seed: Number.isInteger(seed) ? seed : 0,
  });
  return new DataLoader(loader.dataset, {
    batchSize: loader.batchSize,
    sampler: distributed,
    dropLast: loader.dropLast,
    collateFn: loader.collateFn,
  }) as L;
}
