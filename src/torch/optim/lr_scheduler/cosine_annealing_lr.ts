import type { Optimizer } from "../optimizer.ts";
import { LRScheduler, checkPositiveInt, pyMod } from "./lr_scheduler.ts";

export type CosineAnnealingLROptions = { tMax: number; etaMin?: number; lastEpoch?: number };

/**
 * `CosineAnnealingLR`: lr follows ηmin + (base − ηmin)·(1 + cos(π·epoch/tMax))/2, computed
 * with PyTorch's recursive form and the same arithmetic (so it composes with other changes of
 * the lr, like torch's). Past `tMax` it rises again, as torch's does.
 */
export class CosineAnnealingLR extends LRScheduler {
  tMax: number;
  etaMin: number;

  constructor(optimizer: Optimizer, options: CosineAnnealingLROptions) {
    super(optimizer);
    this.tMax = checkPositiveInt("CosineAnnealingLR", "tMax", options?.tMax);
    this.etaMin = options.etaMin ?? 0;
    this.initialize(options.lastEpoch ?? -1);
  }

  override getLr(): number[] {
    const groups = this.optimizer.paramGroups;
    const { lastEpoch: e, tMax: T, etaMin } = this;
    if (e === 0) return groups.map((g) => g.lr);
    if (this._stepCount === 1 && e > 0) {
      // Resumed with lastEpoch > 0: no previous lr to recurse from, use the closed form.
      return this.baseLrs.map((base) => etaMin + ((base - etaMin) * (1 + Math.cos((e * Math.PI) / T))) / 2);
    }
    if (pyMod(e - 1 - T, 2 * T) === 0) {
      // The step after a minimum: the ratio below would divide by 1 + cos(π) = 0.
      return groups.map((g, i) => g.lr + ((this.baseLrs[i] - etaMin) * (1 - Math.cos(Math.PI / T))) / 2);
    }
    return groups.map(
      (g) => ((1 + Math.cos((Math.PI * e) / T)) / (1 + Math.cos((Math.PI * (e - 1)) / T))) * (g.lr - etaMin) + etaMin,
    );
  }
}
