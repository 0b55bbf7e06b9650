import { afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { SGD, Adam, lrScheduler, type Optimizer } from "../../../src/torch/optim/index";
import { tf, setupTorch } from "./helpers";

const { StepLR, MultiStepLR, ExponentialLR, CosineAnnealingLR, LRScheduler } = lrScheduler;

beforeAll(setupTorch);
afterEach(() => vi.restoreAllMocks());

const BASES = [0.1, 0.02];

function twoGroupOptimizer(): Optimizer {
  return new SGD([{ params: [tf.variable(tf.zeros([1]))] }, { params: [tf.variable(tf.zeros([1]))], lr: BASES[1] }], {
    lr: BASES[0],
    momentum: 0.9,
  });
}

/** getLastLr() right after construction, then after each of `epochs` (optimizer.step, scheduler.step) pairs. */
function lrSequence(opt: Optimizer, sched: InstanceType<typeof LRScheduler>, epochs: number): number[][] {
  const seq = [sched.getLastLr()];
  for (let e = 1; e <= epochs; e++) {
    opt.step();
    sched.step();
    const lrs = sched.getLastLr();
    expect(opt.paramGroups.map((g) => g.lr)).toEqual(lrs);
    seq.push(lrs);
  }
  return seq;
}

function expectSequence(got: number[][], expected: (base: number, epoch: number) => number, tol = 1e-12): void {
  got.forEach((lrs, e) =>
    lrs.forEach((lr, gi) => {
      const want = expected(BASES[gi], e);
      if (!(Math.abs(lr - want) <= tol * Math.max(1, Math.abs(want)))) {
        throw new Error(`epoch ${e}, group ${gi}: lr ${lr}, expected ${want}`);
      }
    }),
  );
}

describe("StepLR / MultiStepLR / ExponentialLR", () => {
  it("StepLR decays by gamma every stepSize epochs", () => {
    const opt = twoGroupOptimizer();
    const seq = lrSequence(opt, new StepLR(opt, { stepSize: 3, gamma: 0.5 }), 30);
    expectSequence(seq, (b, e) => b * 0.5 ** Math.floor(e / 3));
    expect(seq[2][0]).toBe(0.1);
    expect(seq[3][0]).toBe(0.05);
  });

  it("StepLR's gamma defaults to 0.1", () => {
    const opt = twoGroupOptimizer();
    expectSequence(lrSequence(opt, new StepLR(opt, { stepSize: 4 }), 12), (b, e) => b * 0.1 ** Math.floor(e / 4));
  });

  it("MultiStepLR decays at each milestone, twice at a repeated one", () => {
    const opt = twoGroupOptimizer();
    const milestones = [12, 5, 20, 12];
    const seq = lrSequence(opt, new MultiStepLR(opt, { milestones, gamma: 0.3 }), 30);
    expectSequence(seq, (b, e) => b * 0.3 ** milestones.filter((m) => m <= e).length);
  });

  it("ExponentialLR decays every epoch", () => {
    const opt = twoGroupOptimizer();
    expectSequence(lrSequence(opt, new ExponentialLR(opt, { gamma: 0.9 }), 30), (b, e) => b * 0.9 ** e);
  });

  it("records initialLr on every group and exposes baseLrs and lastEpoch", () => {
    const opt = twoGroupOptimizer();
    const s = new StepLR(opt, { stepSize: 2 });
    expect(opt.paramGroups.map((g) => g.initialLr)).toEqual(BASES);
    expect(s.baseLrs).toEqual(BASES);
    expect(s.lastEpoch).toBe(0);
    opt.step();
    s.step();
    expect(s.lastEpoch).toBe(1);
  });

  it("checks its arguments", () => {
    const opt = twoGroupOptimizer();
    expect(() => new StepLR(opt, { stepSize: 0 })).toThrow("StepLR: stepSize must be a positive integer, got 0");
    expect(() => new ExponentialLR(opt, {} as { gamma: number })).toThrow(
      "ExponentialLR: gamma (a number) is required",
    );
    expect(() => new MultiStepLR(opt, { milestones: [1.5] })).toThrow(/milestones must be a list of integer epochs/);
  });
});

describe("CosineAnnealingLR", () => {
  const T = 10;
  const ETA = 0.001;
  const closed = (b: number, e: number) => ETA + ((b - ETA) * (1 + Math.cos((Math.PI * e) / T))) / 2;

  it("the recursive form equals the closed form over three half-periods (incl. the restart branch)", () => {
    const opt = twoGroupOptimizer();
    const seq = lrSequence(opt, new CosineAnnealingLR(opt, { tMax: T, etaMin: ETA }), 3 * T + 5);
    expectSequence(seq, closed, 1e-12);
    expect(seq[T][0]).toBeCloseTo(ETA, 15);
    expect(seq[2 * T][0]).toBeCloseTo(0.1, 14);
  });

  it("etaMin defaults to 0", () => {
    const opt = twoGroupOptimizer();
    const seq = lrSequence(opt, new CosineAnnealingLR(opt, { tMax: 4 }), 4);
    expect(seq.map((l) => l[0])).toEqual(
      [0, 1, 2, 3, 4].map((e) => expect.closeTo((0.1 * (1 + Math.cos((Math.PI * e) / 4))) / 2, 15)),
    );
  });

  it("resumes from lastEpoch with the closed form (needs initialLr on the groups)", () => {
    const opt = twoGroupOptimizer();
    opt.paramGroups.forEach((g, i) => (g.initialLr = BASES[i]));
    const s = new CosineAnnealingLR(opt, { tMax: T, etaMin: ETA, lastEpoch: 4 });
    expect(s.lastEpoch).toBe(5);
    const seq = lrSequence(opt, s, 12);
    expectSequence(seq, (b, e) => closed(b, e + 5), 1e-12);

    expect(() => new CosineAnnealingLR(twoGroupOptimizer(), { tMax: T, lastEpoch: 3 })).toThrow(
      /param 'initialLr' is not specified in paramGroups\[0\] when resuming/,
    );
  });
});

describe("LRScheduler base", () => {
  it("warns once when scheduler.step() comes before optimizer.step()", () => {
    const warn = vi.spyOn(console, "warn").mockImplementation(() => {});
    const opt = twoGroupOptimizer();
    const s = new StepLR(opt, { stepSize: 1 });
    s.step();
    s.step();
    expect(warn).toHaveBeenCalledTimes(1);
    expect(String(warn.mock.calls[0][0])).toContain("before `optimizer.step()`");

    warn.mockClear();
    const opt2 = twoGroupOptimizer();
    const s2 = new StepLR(opt2, { stepSize: 1 });
    opt2.step();
    s2.step();
    expect(warn).not.toHaveBeenCalled();

    // Through a forwarding Proxy (how Lite wraps optimizers) the order check still sees the steps.
    const raw = twoGroupOptimizer();
    const proxied = new Proxy(raw, {
      get(t, prop) {
        const v = Reflect.get(t, prop, t);
        return typeof v === "function" ? v.bind(t) : v;
      },
    });
    const s3 = new StepLR(proxied, { stepSize: 1 });
    proxied.step();
    s3.step();
    expect(warn).not.toHaveBeenCalled();
    expect(raw.paramGroups[0].lr).toBeCloseTo(0.01, 15);
  });

  it("stateDict round trip (with the optimizer's) resumes the schedule exactly", () => {
    for (const make of [
      (o: Optimizer) => new StepLR(o, { stepSize: 3, gamma: 0.5 }),
      (o: Optimizer) => new MultiStepLR(o, { milestones: [2, 7, 9], gamma: 0.5 }),
      (o: Optimizer) => new CosineAnnealingLR(o, { tMax: 8, etaMin: 0.001 }),
      (o: Optimizer) => new lrScheduler.OneCycleLR(o, { maxLr: 0.5, totalSteps: 15 }),
    ]) {
      const straightOpt = twoGroupOptimizer();
      const straight = lrSequence(straightOpt, make(straightOpt), 13);

      const opt = twoGroupOptimizer();
      const sched = make(opt);
      const firstPart = lrSequence(opt, sched, 5);
      const saved = { opt: opt.stateDict(), sched: JSON.parse(JSON.stringify(sched.stateDict())) };
      expect(saved.sched).not.toHaveProperty("optimizer");

      const opt2 = twoGroupOptimizer();
      opt2.loadStateDict(saved.opt);
      const sched2 = make(opt2);
      sched2.loadStateDict(saved.sched);
      expect(sched2.lastEpoch).toBe(5);
      const rest = lrSequence(opt2, sched2, 8).slice(1);
      expect([...firstPart, ...rest]).toEqual(straight);
    }
  });

  it("is chainable: two schedulers on one optimizer compose, as in PyTorch", () => {
    const opt = new Adam([tf.variable(tf.zeros([1]))], { lr: 1 });
    const a = new ExponentialLR(opt, { gamma: 0.9 });
    const b = new StepLR(opt, { stepSize: 2, gamma: 0.5 });
    const lrs = [opt.paramGroups[0].lr];
    for (let e = 1; e <= 6; e++) {
      opt.step();
      a.step();
      b.step();
      lrs.push(opt.paramGroups[0].lr);
    }
    lrs.forEach((lr, e) => expect(lr).toBeCloseTo(0.9 ** e * 0.5 ** Math.floor(e / 2), 14));
  });
});
