import type { Optimizer } from "../optimizer.ts";
import { LRScheduler, checkPositiveInt, perGroup } from "./lr_scheduler.ts";

export type OneCycleLROptions = {
  maxLr: number | readonly number[];
  /** Number of `step()` calls in the cycle; or give `epochs` and `stepsPerEpoch`. */
  totalSteps?: number;
  epochs?: number;
  stepsPerEpoch?: number;
  pctStart?: number;
  annealStrategy?: "cos" | "linear";
  cycleMomentum?: boolean;
  baseMomentum?: number | readonly number[];
  maxMomentum?: number | readonly number[];
  divFactor?: number;
  finalDivFactor?: number;
  threePhase?: boolean;
  lastEpoch?: number;
};

type GroupKey = "initialLr" | "maxLr" | "minLr" | "maxMomentum" | "baseMomentum";

interface Phase {
  endStep: number;
  startLr: GroupKey;
  endLr: GroupKey;
  startMomentum: GroupKey;
  endMomentum: GroupKey;
}

/**
 * `OneCycleLR` (Smith's 1cycle policy), stepped once per batch. The lr rises from
 * maxLr/divFactor to maxLr over the first `pctStart` of the steps, then anneals to
 * initialLr/finalDivFactor (three-phase: back to initialLr first, then to the minimum).
 * Momentum cycles inversely between maxMomentum and baseMomentum: the group's `momentum`
 * (SGD, RMSprop) or `betas[0]` (Adam, AdamW), as in PyTorch. It records `initialLr`, `maxLr`,
 * `minLr`, `maxMomentum` and `baseMomentum` on each group.
 */
export class OneCycleLR extends LRScheduler {
  totalSteps: number;
  schedulePhases: Phase[];
  annealStrategy: "cos" | "linear";
  cycleMomentum: boolean;
  useBeta1: boolean;

  constructor(optimizer: Optimizer, options: OneCycleLROptions) {
    super(optimizer);
    const o = options ?? ({} as OneCycleLROptions);
    if (o.totalSteps !== undefined) {
      this.totalSteps = checkPositiveInt("OneCycleLR", "totalSteps", o.totalSteps);
    } else if (o.epochs !== undefined && o.stepsPerEpoch !== undefined) {
      this.totalSteps =
        checkPositiveInt("OneCycleLR", "epochs", o.epochs) *
        checkPositiveInt("OneCycleLR", "stepsPerEpoch", o.stepsPerEpoch);
    } else {
      throw new Error("OneCycleLR: you must define either totalSteps OR (epochs AND stepsPerEpoch)");
    }
    const pctStart = o.pctStart ?? 0.3;
    if (!(typeof pctStart === "number" && pctStart >= 0 && pctStart <= 1)) {
      throw new Error(`OneCycleLR: expected pctStart between 0 and 1, got ${String(pctStart)}`);
    }
    const n = this.totalSteps;
    this.schedulePhases = o.threePhase
      ? [
          {
            endStep: pctStart * n - 1,
            startLr: "initialLr",
            endLr: "maxLr",
            startMomentum: "maxMomentum",
            endMomentum: "baseMomentum",
          },
          {
            endStep: 2 * pctStart * n - 2,
            startLr: "maxLr",
            endLr: "initialLr",
            startMomentum: "baseMomentum",
            endMomentum: "maxMomentum",
          },
          {
            endStep: n - 1,
            startLr: "initialLr",
            endLr: "minLr",
            startMomentum: "maxMomentum",
            endMomentum: "maxMomentum",
          },
        ]
      : [
          {
            endStep: pctStart * n - 1,
            startLr: "initialLr",
            endLr: "maxLr",
            startMomentum: "maxMomentum",
            endMomentum: "baseMomentum",
          },
          {
            endStep: n - 1,
            startLr: "maxLr",
            endLr: "minLr",
            startMomentum: "baseMomentum",
            endMomentum: "maxMomentum",
          },
        ];
    const anneal = o.annealStrategy ?? "cos";
    if (anneal !== "cos" && anneal !== "linear") {
      throw new Error(`OneCycleLR: annealStrategy must be one of 'cos' or 'linear', instead got ${String(anneal)}`);
    }
    this.annealStrategy = anneal;

    const lastEpoch = o.lastEpoch ?? -1;
    const groups = optimizer.paramGroups;
    const maxLrs = perGroup("maxLr", optimizer, o.maxLr);
    const divFactor = o.divFactor ?? 25;
    const finalDivFactor = o.finalDivFactor ?? 1e4;
    if (lastEpoch === -1) {
      groups.forEach((g, i) => {
        g.initialLr = maxLrs[i] / divFactor;
        g.maxLr = maxLrs[i];
        g.minLr = g.initialLr / finalDivFactor;
      });
    }

    this.cycleMomentum = o.cycleMomentum ?? true;
    const defaults = optimizer.defaults as Record<string, unknown>;
    this.useBeta1 = "betas" in defaults;
    if (this.cycleMomentum) {
      if (!("momentum" in defaults) && !this.useBeta1) {
        throw new Error("OneCycleLR: optimizer must support momentum or beta1 with the `cycleMomentum` option enabled");
      }
      const maxMomenta = perGroup("maxMomentum", optimizer, o.maxMomentum ?? 0.95);
      const baseMomenta = perGroup("baseMomentum", optimizer, o.baseMomentum ?? 0.85);
      if (lastEpoch === -1) {
        groups.forEach((g, i) => {
          this.setMomentum(g, maxMomenta[i]);
          g.maxMomentum = maxMomenta[i];
          g.baseMomentum = baseMomenta[i];
        });
      }
    }
    this.initialize(lastEpoch);
  }

  private setMomentum(group: Optimizer["paramGroups"][number], value: number): void {
    if (this.useBeta1) {
      const betas = group.betas as readonly number[];
      group.betas = [value, ...betas.slice(1)];
    } else {
      group.momentum = value;
    }
  }

  private anneal(start: number, end: number, pct: number): number {
    if (this.annealStrategy === "linear") return (end - start) * pct + start;
    return end + ((start - end) / 2) * (Math.cos(Math.PI * pct) + 1);
  }

  override getLr(): number[] {
    const stepNum = this.lastEpoch;
    if (stepNum > this.totalSteps) {
      throw new Error(
        `OneCycleLR: tried to step ${stepNum} times. The specified number of total steps is ${this.totalSteps}`,
      );
    }
    const phases = this.schedulePhases;
    return this.optimizer.paramGroups.map((group) => {
      const value = (k: GroupKey) => group[k] as number;
      let startStep = 0;
      for (let i = 0; i < phases.length; i++) {
        const phase = phases[i];
        if (stepNum <= phase.endStep || i === phases.length - 1) {
          const pct = (stepNum - startStep) / (phase.endStep - startStep);
          if (this.cycleMomentum) {
            this.setMomentum(group, this.anneal(value(phase.startMomentum), value(phase.endMomentum), pct));
          }
          return this.anneal(value(phase.startLr), value(phase.endLr), pct);
        }
        startStep = phase.endStep;
      }
      throw new Error("OneCycleLR: unreachable (the last phase always matches)");
    });
  }
}
