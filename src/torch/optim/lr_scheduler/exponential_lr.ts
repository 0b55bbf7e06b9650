import type { Optimizer } from "../optimizer.ts";
import { LRScheduler } from "./lr_scheduler.ts";

export type ExponentialLROptions = { gamma: number; lastEpoch?: number };

/** `ExponentialLR`: multiplies the lr by `gamma` every epoch. */
export class ExponentialLR extends LRScheduler {
  gamma: number;

  constructor(optimizer: Optimizer, options: ExponentialLROptions) {
    super(optimizer);
    if (typeof options?.gamma !== "number") throw new Error("ExponentialLR: gamma (a number) is required");
    this.gamma = options.gamma;
    this.initialize(options.lastEpoch ?? -1);
  }

  override getLr(): number[] {
    const groups = this.optimizer.paramGroups;
    if (this.lastEpoch === 0) return groups.map((g) => g.lr);
    return groups.map((g) => g.lr * this.gamma);
  }
}
