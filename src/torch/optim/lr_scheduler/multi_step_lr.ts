import type { Optimizer } from "../optimizer.ts";
import { LRScheduler } from "./lr_scheduler.ts";

export type MultiStepLROptions = { milestones: readonly number[]; gamma?: number; lastEpoch?: number };

/**
 * `MultiStepLR`: multiplies the lr by `gamma` at each milestone epoch. A milestone listed
 * twice decays twice there (PyTorch counts them with a `Counter`).
 */
export class MultiStepLR extends LRScheduler {
  milestones: number[];
  gamma: number;

  constructor(optimizer: Optimizer, options: MultiStepLROptions) {
    super(optimizer);
    if (!Array.isArray(options?.milestones) || options.milestones.some((m) => !Number.isInteger(m))) {
      throw new Error(
        `MultiStepLR: milestones must be a list of integer epochs, got ${JSON.stringify(options?.milestones)}`,
      );
    }
    this.milestones = [...options.milestones].sort((a, b) => a - b);
    this.gamma = options.gamma ?? 0.1;
    this.initialize(options.lastEpoch ?? -1);
  }

  override getLr(): number[] {
    const hits = this.milestones.filter((m) => m === this.lastEpoch).length;
    return this.optimizer.paramGroups.map((g) => (hits === 0 ? g.lr : g.lr * this.gamma ** hits));
  }
}
