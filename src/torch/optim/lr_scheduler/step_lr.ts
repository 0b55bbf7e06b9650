import type { Optimizer } from "../optimizer.ts";
import { LRScheduler, checkPositiveInt } from "./lr_scheduler.ts";

export type StepLROptions = { stepSize: number; gamma?: number; lastEpoch?: number };

/** `StepLR`: multiplies the lr by `gamma` every `stepSize` epochs (lr = base·γ^⌊epoch/stepSize⌋). */
export class StepLR extends LRScheduler {
  stepSize: number;
  gamma: number;

  constructor(optimizer: Optimizer, options: StepLROptions) {
    super(optimizer);
    this.stepSize = checkPositiveInt("StepLR", "stepSize", options?.stepSize);
    this.gamma = options.gamma ?? 0.1;
    this.initialize(options.lastEpoch ?? -1);
  }

  override getLr(): number[] {
    const groups = this.optimizer.paramGroups;
    if (this.lastEpoch === 0 || this.lastEpoch % this.stepSize !== 0) return groups.map((g) => g.lr);
    return groups.map((g) => g.lr * this.gamma);
  }
}
