/** Small helpers shared by the loops (Lightning's `loops/utilities.py`). */
import { Module } from "../../torch/nn/module.ts";
import { DataLoader } from "../../torch/data/dataloader.ts";
import { DistributedSampler } from "../../torch/data/distributed.ts";
import { MisconfigurationError } from "../errors.ts";
import { rankZeroWarn } from "../utilities/rank_zero.ts";
import type { DataSource } from "../trainer/connectors/data_connector.ts";

/** `maximum` of -1 means no limit. */
export function isMaxLimitReached(current: number, maximum: number): boolean {
  return maximum !== -1 && current >= maximum;
}

/**
 * Lightning's `_parse_loop_limits`: the epoch limits a fit runs with, as `[minEpochs, maxEpochs]`.
 * Without `maxEpochs` a fit stops after 1000 epochs, or not by epochs when `maxSteps` is set;
 * `minSteps` without `minEpochs` means at least one epoch.
 */
export function parseLoopLimits(minSteps: number | null, maxSteps: number, minEpochs: number | null, maxEpochs: number | null): [number, number] {
  if (maxEpochs === null) {
    if (maxSteps === -1) {
      rankZeroWarn("`maxEpochs` was not set. Setting it to 1000 epochs. To train without an epoch limit, set `maxEpochs: -1`.");
      maxEpochs = 1000;
    } else {
      maxEpochs = -1;
    }
  }
  if (minEpochs === null && minSteps !== null) minEpochs = 1;
  return [minEpochs ?? 0, maxEpochs];
}

/**
 * A `limit*Batches` flag applied to a dataloader of `length` batches (Lightning's
 * `_parse_num_batches`): an integer is a number of batches, a fraction in (0, 1) a share of
 * the epoch, rounded down; `null` is the whole loader.
 */
export function parseNumBatches(prefix: string, length: number, limit: number | null): number {
  if (length === 0) return 0;
  if (limit === null) return length;
  if (Number.isInteger(limit)) return Math.min(length, limit);
  if (length === Infinity) {
    throw new MisconfigurationError(
      `When using an iterable without a length, \`limit${capitalize(prefix)}Batches\` must be an integer number of batches, got ${limit}`,
    );
  }
  const n = Math.floor(length * limit);
  if (n === 0 && limit > 0) {
    throw new MisconfigurationError(
      `You requested to check ${limit} of the \`${prefix}Dataloader\` but ${limit} * ${length} < 1. Please increase the ` +
        `\`limit${capitalize(prefix)}Batches\` argument. Try at least \`limit${capitalize(prefix)}Batches=${1 / length}\``,
    );
  }
  return n;
}

export function capitalize(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1);
}

/** Tells a DistributedSampler which epoch it is (so each epoch shuffles differently, the same on every rank). */
export function setSamplerEpoch(loader: DataSource, epoch: number): void {
  if (!(loader instanceof DataLoader)) return;
  const samplers = [loader.sampler, (loader.batchSampler as { sampler?: unknown }).sampler];
  for (const s of samplers) if (s instanceof DistributedSampler) s.setEpoch(epoch);
}

/**
 * Every submodule's `training` flag, to restore after evaluation (Lightning 2.2's
 * `_ModuleMode`): a frozen submodule left in eval mode on purpose stays in eval mode.
 */
export class ModuleMode {
  private modes: Array<[Module, boolean]> = [];

  capture(module: Module): void {
    this.modes = module.modules().map((m) => [m, m.training]);
  }

  restore(_module: Module): void {
    for (const [m, t] of this.modes) m.training = t;
    this.modes = [];
  }
}
