import type { Optimizer } from "../optimizer.ts";
import { LRScheduler } from "./lr_scheduler.ts";
import { StepLR } from "./step_lr.ts";
import { MultiStepLR } from "./multi_step_lr.ts";
import { ExponentialLR } from "./exponential_lr.ts";
import { CosineAnnealingLR } from "./cosine_annealing_lr.ts";
import { CosineAnnealingWarmRestarts } from "./cosine_annealing_warm_restarts.ts";
import { ReduceLROnPlateau } from "./reduce_lr_on_plateau.ts";

export type SequentialLROptions = {
  /** The schedulers to run one after the other, all on this optimizer. */
  schedulers: readonly LRScheduler[];
  /** The epochs at which the next scheduler takes over (one fewer than the schedulers). */
  milestones: readonly number[];
  lastEpoch?: number;
};

/** The fields of a scheduler that `SequentialLR` drives (protected in `LRScheduler`). */
type Internals = { _stepCount: number; _lastLr: number[] };

/**
 * `SequentialLR`: runs `schedulers[0]` until `milestones[0]`, then `schedulers[1]` (restarted
 * at its epoch 0, i.e. its closed form there, as PyTorch's `step(0)` does) until
 * `milestones[1]`, and so on — e.g. a `LinearLR` warm-up followed by a cosine decay. Its
 * `stateDict()` holds the state of every scheduler.
 */
export class SequentialLR extends LRScheduler {
  _schedulers: LRScheduler[];
  _milestones: number[];

  constructor(optimizer: Optimizer, options: SequentialLROptions) {
    super(optimizer);
    const schedulers = options?.schedulers;
    const milestones = options?.milestones;
    if (!Array.isArray(schedulers) || schedulers.length === 0) {
      throw new Error("SequentialLR: expected a non-empty list of schedulers");
    }
    schedulers.forEach((s, i) => {
      if (!(s instanceof LRScheduler)) throw new TypeError(`SequentialLR: schedulers[${i}] is not a scheduler`);
      if (s instanceof ReduceLROnPlateau) {
        throw new Error("SequentialLR: ReduceLROnPlateau cannot be sequenced (its step needs a metric)");
      }
      if (s.optimizer !== optimizer) {
        throw new Error(
          `SequentialLR expects all schedulers to belong to the same optimizer, but got schedulers at index ${i} ` +
            `to be different than the optimizer passed in.`,
        );
      }
    });
    if (!Array.isArray(milestones) || milestones.length !== schedulers.length - 1) {
      throw new Error(
        `SequentialLR expects number of schedulers provided to be one more than the number of milestone points, ` +
          `but got number of schedulers ${schedulers.length} and the number of milestones to be equal to ` +
          `${Array.isArray(milestones) ? milestones.length : String(milestones)}`,
      );
    }
    this._schedulers = [...schedulers];
    this._milestones = [...milestones];
    this.lastEpoch = (options.lastEpoch ?? -1) + 1;
    this.baseLrs = optimizer.paramGroups.map((g) => g.initialLr as number);

    // Every scheduler stepped once when it was built: undo that, then start the first one.
    for (const g of optimizer.paramGroups) g.lr = g.initialLr as number;
    for (const s of this._schedulers) s.lastEpoch -= 1;
    const first = this._schedulers[0];
    (first as unknown as Internals)._stepCount = 0;
    first.step();
    this._lastLr = first.getLastLr();
  }

  /** Not used: the lr comes from the active scheduler. Returns the current lrs. */
  override getLr(): number[] {
    return this.optimizer.paramGroups.map((g) => g.lr);
  }

  override step(): void {
    this.lastEpoch++;
    const idx = bisectRight(this._milestones, this.lastEpoch);
    const scheduler = this._schedulers[idx];
    if (idx > 0 && this._milestones[idx - 1] === this.lastEpoch) stepToEpoch(scheduler, 0);
    else scheduler.step();
    this._lastLr = scheduler.getLastLr();
  }

  override stateDict(): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(this)) {
      if (k === "optimizer" || k === "_schedulers") continue;
      out[k] = structuredClone(v);
    }
    out._schedulers = this._schedulers.map((s) => s.stateDict());
    return out;
  }

  override loadStateDict(stateDict: Record<string, unknown>): void {
    const { _schedulers: saved, ...rest } = stateDict ?? {};
    super.loadStateDict(rest);
    if (Array.isArray(saved)) {
      saved.forEach((s, i) => this._schedulers[i]?.loadStateDict(s as Record<string, unknown>));
    }
  }
}

/** Python's `bisect.bisect_right` on a list of numbers (not necessarily sorted, as PyTorch doesn't sort). */
function bisectRight(a: readonly number[], x: number): number {
  let lo = 0;
  let hi = a.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (x < a[mid]) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

/**
 * PyTorch's `scheduler.step(epoch)`: jump to `epoch` and use the scheduler's closed form where
 * it has one (`_get_closed_form_lr`), its `getLr()` otherwise.
 */
function stepToEpoch(s: LRScheduler, epoch: number): void {
  if (s instanceof CosineAnnealingWarmRestarts) {
    s.step(epoch);
    return;
  }
  const internals = s as unknown as Internals;
  internals._stepCount++;
  s.lastEpoch = epoch;
  const values = closedFormLr(s) ?? s.getLr();
  s.optimizer.paramGroups.forEach((g, i) => {
    g.lr = values[i];
  });
  internals._lastLr = s.optimizer.paramGroups.map((g) => g.lr);
}

function closedFormLr(s: LRScheduler): number[] | undefined {
  const e = s.lastEpoch;
  if (typeof (s as { closedFormLr?: unknown }).closedFormLr === "function") {
    return (s as unknown as { closedFormLr(): number[] }).closedFormLr();
  }
  if (s instanceof StepLR) return s.baseLrs.map((b) => b * s.gamma ** Math.floor(e / s.stepSize));
  if (s instanceof MultiStepLR) return s.baseLrs.map((b) => b * s.gamma ** bisectRight(s.milestones, e));
  if (s instanceof ExponentialLR) return s.baseLrs.map((b) => b * s.gamma ** e);
  if (s instanceof CosineAnnealingLR) {
    return s.baseLrs.map((b) => s.etaMin + ((b - s.etaMin) * (1 + Math.cos((Math.PI * e) / s.tMax))) / 2);
  }
  return undefined;
}
