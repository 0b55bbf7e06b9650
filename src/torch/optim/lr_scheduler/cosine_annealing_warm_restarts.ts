import type { Optimizer } from "../optimizer.ts";
import { LRScheduler } from "./lr_scheduler.ts";

export type CosineAnnealingWarmRestartsOptions = {
  /** Epochs until the first restart (PyTorch's `T_0`). */
  T0: number;
  /** Factor by which the period grows after each restart (`T_mult`, default 1). */
  TMult?: number;
  etaMin?: number;
  lastEpoch?: number;
};

/**
 * `CosineAnnealingWarmRestarts` (SGDR): lr = ηmin + (base − ηmin)·(1 + cos(π·Tcur/Ti))/2, where
 * Tcur counts epochs since the last restart and the period Ti starts at T0 and is multiplied by
 * TMult at each restart. `step()` advances one epoch; `step(epoch)` jumps to an epoch, which
 * may be fractional (`scheduler.step(epoch + i / iters)` once per batch), as in PyTorch.
 */
export class CosineAnnealingWarmRestarts extends LRScheduler {
  T0: number;
  Ti: number;
  TMult: number;
  etaMin: number;
  TCur: number;

  constructor(optimizer: Optimizer, options: CosineAnnealingWarmRestartsOptions) {
    super(optimizer);
    const T0 = options?.T0;
    const TMult = options.TMult ?? 1;
    if (typeof T0 !== "number" || !Number.isInteger(T0) || T0 <= 0) {
      throw new Error(`CosineAnnealingWarmRestarts: expected a positive integer T0, but got ${String(T0)}`);
    }
    if (typeof TMult !== "number" || !Number.isInteger(TMult) || TMult < 1) {
      throw new Error(`CosineAnnealingWarmRestarts: expected an integer TMult >= 1, but got ${String(TMult)}`);
    }
    this.T0 = T0;
    this.Ti = T0;
    this.TMult = TMult;
    this.etaMin = options.etaMin ?? 0;
    const lastEpoch = options.lastEpoch ?? -1;
    this.TCur = lastEpoch;
    this.initialize(lastEpoch);
  }

  override getLr(): number[] {
    const { etaMin, TCur, Ti } = this;
    return this.baseLrs.map((base) => etaMin + ((base - etaMin) * (1 + Math.cos((Math.PI * TCur) / Ti))) / 2);
  }

  /**
   * One epoch on (no argument), or to `epoch`. Like PyTorch's, this step neither counts towards
   * nor checks the `optimizer.step()` order.
   */
  override step(epoch?: number): void {
    if (epoch === undefined && this.lastEpoch < 0) epoch = 0;
    if (epoch === undefined) {
      epoch = this.lastEpoch + 1;
      this.TCur = this.TCur + 1;
      if (this.TCur >= this.Ti) {
        this.TCur = this.TCur - this.Ti;
        this.Ti = this.Ti * this.TMult;
      }
    } else {
      if (typeof epoch !== "number" || !(epoch >= 0)) {
        throw new Error(`CosineAnnealingWarmRestarts: expected a non-negative epoch, but got ${String(epoch)}`);
      }
      if (epoch >= this.T0) {
        if (this.TMult === 1) {
          this.TCur = epoch % this.T0;
        } else {
          const n = Math.trunc(Math.log((epoch / this.T0) * (this.TMult - 1) + 1) / Math.log(this.TMult));
          this.TCur = epoch - (this.T0 * (this.TMult ** n - 1)) / (this.TMult - 1);
          this.Ti = this.T0 * this.TMult ** n;
        }
      } else {
        this.Ti = this.T0;
        this.TCur = epoch;
      }
    }
    this.lastEpoch = Math.floor(epoch);
    const values = this.getLr();
    this.optimizer.paramGroups.forEach((g, i) => {
      g.lr = values[i];
    });
    this._lastLr = this.optimizer.paramGroups.map((g) => g.lr);
  }
}
