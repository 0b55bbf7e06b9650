import type { Optimizer } from "../optimizer.ts";
import { LRScheduler } from "./lr_scheduler.ts";

export type LinearLROptions = { startFactor?: number; endFactor?: number; totalIters?: number; lastEpoch?: number };

/**
 * `LinearLR`: the lr factor goes linearly from `startFactor` to `endFactor` over `totalIters`
 * steps, then stays (a warm-up, usually chained in `SequentialLR`). Stepped with PyTorch's
 * recursive form, lr ← lr·(1 + (end − start) / (totalIters·start + (epoch − 1)·(end − start))),
 * whose values are base·(start + (end − start)·min(epoch, totalIters)/totalIters).
 */
export class LinearLR extends LRScheduler {
  startFactor: number;
  endFactor: number;
  totalIters: number;

  constructor(optimizer: Optimizer, options: LinearLROptions = {}) {
    super(optimizer);
    const startFactor = options.startFactor ?? 1 / 3;
    const endFactor = options.endFactor ?? 1.0;
    if (!(startFactor > 0 && startFactor <= 1)) {
      throw new Error(
        `LinearLR: startFactor expected to be greater than 0 and less or equal to 1, got ${String(startFactor)}`,
      );
    }
    if (!(endFactor >= 0 && endFactor <= 1)) {
      throw new Error(`LinearLR: endFactor expected to be between 0 and 1, got ${String(endFactor)}`);
    }
    this.startFactor = startFactor;
    this.endFactor = endFactor;
    this.totalIters = options.totalIters ?? 5;
    this.initialize(options.lastEpoch ?? -1);
  }

  override getLr(): number[] {
    const groups = this.optimizer.paramGroups;
    const { startFactor: s, endFactor: e, totalIters: n, lastEpoch } = this;
    if (lastEpoch === 0) return groups.map((g) => g.lr * s);
    if (lastEpoch > n) return groups.map((g) => g.lr);
    return groups.map((g) => g.lr * (1 + (e - s) / (n * s + (lastEpoch - 1) * (e - s))));
  }

  /** PyTorch's `_get_closed_form_lr` (used when stepped to an explicit epoch, e.g. by `SequentialLR`). */
  closedFormLr(): number[] {
    const { startFactor: s, endFactor: e, totalIters: n, lastEpoch } = this;
    return this.baseLrs.map((base) => base * (s + ((e - s) * Math.min(n, lastEpoch)) / n));
  }
}
