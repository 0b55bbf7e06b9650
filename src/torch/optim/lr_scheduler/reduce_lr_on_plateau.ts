import { tf } from "../../tf.ts";
import type { Optimizer } from "../optimizer.ts";
import { LRScheduler } from "./lr_scheduler.ts";

export type ReduceLROnPlateauOptions = {
  mode?: "min" | "max";
  factor?: number;
  patience?: number;
  threshold?: number;
  thresholdMode?: "rel" | "abs";
  cooldown?: number;
  minLr?: number | readonly number[];
  eps?: number;
};

/**
 * `ReduceLROnPlateau`: multiplies the lr by `factor` once the monitored metric has not
 * improved (by more than `threshold`) for more than `patience` calls of `step(metric)`, then
 * waits `cooldown` calls before counting again. Never goes below `minLr`; a change smaller
 * than `eps` is skipped. Unlike the other schedulers, construction leaves the lr as it is.
 */
export class ReduceLROnPlateau extends LRScheduler {
  factor: number;
  minLrs: number[];
  defaultMinLr: number | null;
  patience: number;
  cooldown: number;
  cooldownCounter = 0;
  mode: "min" | "max";
  threshold: number;
  thresholdMode: "rel" | "abs";
  best: number;
  numBadEpochs = 0;
  modeWorse: number;
  eps: number;

  constructor(optimizer: Optimizer, options: ReduceLROnPlateauOptions = {}) {
    super(optimizer);
    this.factor = options.factor ?? 0.1;
    if (!(this.factor < 1)) throw new Error("ReduceLROnPlateau: factor should be < 1.0.");
    const minLr = options.minLr ?? 0;
    if (typeof minLr === "number") {
      this.defaultMinLr = minLr;
      this.minLrs = optimizer.paramGroups.map(() => minLr);
    } else {
      if (minLr.length !== optimizer.paramGroups.length) {
        throw new Error(`ReduceLROnPlateau: expected ${optimizer.paramGroups.length} minLrs, got ${minLr.length}`);
      }
      this.defaultMinLr = null;
      this.minLrs = [...minLr];
    }
    this.patience = options.patience ?? 10;
    this.cooldown = options.cooldown ?? 0;
    this.mode = options.mode ?? "min";
    this.threshold = options.threshold ?? 1e-4;
    this.thresholdMode = options.thresholdMode ?? "rel";
    if (this.mode !== "min" && this.mode !== "max")
      throw new Error(`ReduceLROnPlateau: mode ${String(this.mode)} is unknown!`);
    if (this.thresholdMode !== "rel" && this.thresholdMode !== "abs") {
      throw new Error(`ReduceLROnPlateau: threshold mode ${String(this.thresholdMode)} is unknown!`);
    }
    this.eps = options.eps ?? 1e-8;
    this.modeWorse = this.mode === "min" ? Infinity : -Infinity;
    this.best = this.modeWorse;
    this.lastEpoch = 0;
    this._lastLr = optimizer.paramGroups.map((g) => g.lr);
  }

  /** Not used: the lr changes only in `step(metric)`. Returns the current lrs. */
  override getLr(): number[] {
    return this.optimizer.paramGroups.map((g) => g.lr);
  }

  get inCooldown(): boolean {
    return this.cooldownCounter > 0;
  }

  isBetter(a: number, best: number): boolean {
    if (this.mode === "min" && this.thresholdMode === "rel") return a < best * (1 - this.threshold);
    if (this.mode === "min") return a < best - this.threshold;
    if (this.thresholdMode === "rel") return a > best * (this.threshold + 1);
    return a > best + this.threshold;
  }

  /** Records one value of the monitored metric (a number or a one-element tensor). */
  override step(metric?: number | tf.Tensor): void {
    if (metric === undefined || metric === null) {
      throw new Error("ReduceLROnPlateau.step() needs the monitored metric, e.g. scheduler.step(valLoss)");
    }
    let current: number;
    if (metric instanceof tf.Tensor) {
      if (metric.size !== 1)
        throw new Error(`ReduceLROnPlateau.step(): the metric must have one element, got shape [${metric.shape}]`);
      current = metric.dataSync()[0];
    } else {
      current = Number(metric);
    }
    this.lastEpoch += 1;

    if (this.isBetter(current, this.best)) {
      this.best = current;
      this.numBadEpochs = 0;
    } else {
      this.numBadEpochs += 1;
    }
    if (this.inCooldown) {
      this.cooldownCounter -= 1;
      this.numBadEpochs = 0; // bad epochs during cooldown are ignored
    }
    if (this.numBadEpochs > this.patience) {
      this.reduceLr();
      this.cooldownCounter = this.cooldown;
      this.numBadEpochs = 0;
    }
    this._lastLr = this.optimizer.paramGroups.map((g) => g.lr);
  }

  private reduceLr(): void {
    const groups = this.optimizer.paramGroups;
    if (groups.length !== this.minLrs.length) {
      if (this.defaultMinLr === null) {
        throw new Error(
          `ReduceLROnPlateau: the optimizer has ${groups.length} param groups but minLrs has ${this.minLrs.length} ` +
            "(a group was added after the scheduler was created): set scheduler.minLrs to match",
        );
      }
      this.minLrs = groups.map(() => this.defaultMinLr as number);
    }
    groups.forEach((g, i) => {
      const oldLr = g.lr;
      const newLr = Math.max(oldLr * this.factor, this.minLrs[i]);
      if (oldLr - newLr > this.eps) g.lr = newLr;
    });
  }
}
