import { afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { SGD, lrScheduler, type Optimizer } from "../../../src/torch/optim/index";
import { tf, setupTorch } from "./helpers";

const { LambdaLR, LinearLR, SequentialLR, CosineAnnealingWarmRestarts, ExponentialLR, StepLR, CosineAnnealingLR } =
  lrScheduler;

beforeAll(setupTorch);
afterEach(() => vi.restoreAllMocks());

const BASES = [0.1, 0.02];

function twoGroupOptimizer(): Optimizer {
  return new SGD([{ params: [tf.variable(tf.zeros([1]))] }, { params: [tf.variable(tf.zeros([1]))], lr: BASES[1] }], {
    lr: BASES[0],
  });
}

type Sched = { step(): void; getLastLr(): number[] };

/** getLastLr() after construction, then after each of `epochs` (optimizer.step, scheduler.step) pairs. */
function lrSequence(opt: Optimizer, sched: Sched, epochs: number): number[][] {
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

function expectSequence(
  got: number[][],
  expected: (base: number, epoch: number, group: number) => number,
  tol = 1e-12,
) {
  got.forEach((lrs, e) =>
    lrs.forEach((lr, gi) => {
      const want = expected(BASES[gi], e, gi);
      if (!(Math.abs(lr - want) <= tol * Math.max(1, Math.abs(want)))) {
        throw new Error(`epoch ${e}, group ${gi}: lr ${lr}, expected ${want}`);
      }
    }),
  );
}

describe("LambdaLR", () => {
  it("lr = initialLr · lrLambda(epoch), one lambda for all groups", () => {
    const opt = twoGroupOptimizer();
    const seq = lrSequence(opt, new LambdaLR(opt, (e) => 0.95 ** e), 12);
    expectSequence(seq, (b, e) => b * 0.95 ** e);
  });

  it("one lambda per group, and the options form", () => {
    const opt = twoGroupOptimizer();
    const fns = [(e: number) => 1 / (e + 1), (e: number) => (e < 3 ? 1 : 0.1)];
    const seq = lrSequence(opt, new LambdaLR(opt, { lrLambda: fns }), 6);
    expectSequence(seq, (b, e, g) => b * fns[g](e));
    expect(() => new LambdaLR(twoGroupOptimizer(), [fns[0]])).toThrow("LambdaLR: expected 2 lrLambdas, but got 1");
  });

  it("stateDict leaves the lambdas out (nulls, as PyTorch) and a reload keeps its own", () => {
    const opt = twoGroupOptimizer();
    const s = new LambdaLR(opt, (e) => 0.5 ** e);
    lrSequence(opt, s, 3);
    const sd = JSON.parse(JSON.stringify(s.stateDict()));
    expect(sd.lrLambdas).toEqual([null, null]);
    expect(sd.lastEpoch).toBe(3);
    expect(sd).not.toHaveProperty("optimizer");

    const opt2 = twoGroupOptimizer();
    opt2.loadStateDict(opt.stateDict());
    const s2 = new LambdaLR(opt2, (e) => 0.5 ** e);
    s2.loadStateDict(sd);
    expect(typeof s2.lrLambdas[0]).toBe("function");
    opt2.step();
    s2.step();
    expect(s2.getLastLr()).toEqual(BASES.map((b) => b * 0.5 ** 4));
  });
});

describe("LinearLR", () => {
  it("defaults (startFactor 1/3, endFactor 1, totalIters 5): the recursive form gives the closed form", () => {
    const opt = twoGroupOptimizer();
    const seq = lrSequence(opt, new LinearLR(opt), 9);
    const s = 1 / 3;
    expectSequence(seq, (b, e) => b * (s + ((1 - s) * Math.min(e, 5)) / 5));
  });

  it("decays too (startFactor 1, endFactor 0.1, totalIters 4)", () => {
    const opt = twoGroupOptimizer();
    const seq = lrSequence(opt, new LinearLR(opt, { startFactor: 1, endFactor: 0.1, totalIters: 4 }), 7);
    expectSequence(seq, (b, e) => b * (1 + ((0.1 - 1) * Math.min(e, 4)) / 4));
  });

  it("checks its factors", () => {
    const opt = twoGroupOptimizer();
    expect(() => new LinearLR(opt, { startFactor: 0 })).toThrow(/startFactor expected to be greater than 0/);
    expect(() => new LinearLR(opt, { endFactor: 1.5 })).toThrow(/endFactor expected to be between 0 and 1/);
  });
});

describe("CosineAnnealingWarmRestarts", () => {
  /** ηmin + (base − ηmin)(1 + cos(π·Tcur/Ti))/2, with Tcur and Ti found by walking the periods. */
  function sgdr(base: number, epoch: number, T0: number, TMult: number, etaMin: number): number {
    let Ti = T0;
    let Tcur = epoch;
    while (Tcur >= Ti) {
      Tcur -= Ti;
      Ti *= TMult;
    }
    return etaMin + ((base - etaMin) * (1 + Math.cos((Math.PI * Tcur) / Ti))) / 2;
  }

  it("restarts every T0 epochs (TMult 1, etaMin 0 by default)", () => {
    const opt = twoGroupOptimizer();
    const seq = lrSequence(opt, new CosineAnnealingWarmRestarts(opt, { T0: 4 }), 14);
    expectSequence(seq, (b, e) => sgdr(b, e, 4, 1, 0));
    expect(seq[4]).toEqual(BASES);
  });

  it("periods grow by TMult", () => {
    const opt = twoGroupOptimizer();
    const seq = lrSequence(opt, new CosineAnnealingWarmRestarts(opt, { T0: 2, TMult: 2, etaMin: 0.001 }), 20);
    expectSequence(seq, (b, e) => sgdr(b, e, 2, 2, 0.001));
    for (const restart of [2, 6, 14]) expect(seq[restart][0]).toBeCloseTo(0.1, 14);
  });

  it("step(epoch) with fractional epochs, per batch as in PyTorch's docs", () => {
    for (const TMult of [1, 3]) {
      const opt = twoGroupOptimizer();
      const s = new CosineAnnealingWarmRestarts(opt, { T0: 3, TMult, etaMin: 0.005 });
      const iters = 7;
      for (let epoch = 0; epoch < 15; epoch++) {
        for (let i = 0; i < iters; i++) {
          opt.step();
          const at = epoch + i / iters;
          s.step(at);
          expect(s.lastEpoch).toBe(Math.floor(at));
          s.getLastLr().forEach((lr, g) => expect(lr).toBeCloseTo(sgdr(BASES[g], at, 3, TMult, 0.005), 12));
        }
      }
    }
  });

  it("stateDict round trip resumes the schedule exactly", () => {
    const straightOpt = twoGroupOptimizer();
    const straight = lrSequence(straightOpt, new CosineAnnealingWarmRestarts(straightOpt, { T0: 3, TMult: 2 }), 12);
    const opt = twoGroupOptimizer();
    const s = new CosineAnnealingWarmRestarts(opt, { T0: 3, TMult: 2 });
    const first = lrSequence(opt, s, 5);
    const sd = JSON.parse(JSON.stringify(s.stateDict()));
    const opt2 = twoGroupOptimizer();
    opt2.loadStateDict(opt.stateDict());
    const s2 = new CosineAnnealingWarmRestarts(opt2, { T0: 3, TMult: 2 });
    s2.loadStateDict(sd);
    expect([...first, ...lrSequence(opt2, s2, 7).slice(1)]).toEqual(straight);
  });

  it("checks T0, TMult and epoch", () => {
    const opt = twoGroupOptimizer();
    expect(() => new CosineAnnealingWarmRestarts(opt, { T0: 0 })).toThrow(/expected a positive integer T0/);
    expect(() => new CosineAnnealingWarmRestarts(opt, { T0: 2, TMult: 1.5 })).toThrow(/integer TMult >= 1/);
    expect(() => new CosineAnnealingWarmRestarts(opt, { T0: 2 }).step(-1)).toThrow(/non-negative epoch/);
  });
});

describe("SequentialLR", () => {
  /*
   * PyTorch 1.13 (Debian python3-torch 1.13.0a0) on the same two groups (lr 0.1 and 0.02):
   *
   *   from torch.optim import lr_scheduler as L
   *   def mk():
   *       a = torch.zeros(1, requires_grad=True); b = torch.zeros(1, requires_grad=True)
   *       return torch.optim.SGD([{"params": [a]}, {"params": [b], "lr": 0.02}], lr=0.1)
   *   def seq(build, n):
   *       opt = mk(); s = build(opt); out = [s.get_last_lr()]
   *       for _ in range(n):
   *           opt.step(); s.step(); out.append(s.get_last_lr())
   *       return out
   *   seq(lambda o: L.SequentialLR(o, [L.LinearLR(o, start_factor=0.1, total_iters=4),
   *                                    L.ExponentialLR(o, gamma=0.9)], milestones=[5]), 9)
   *   seq(lambda o: L.SequentialLR(o, [L.ExponentialLR(o, gamma=0.5),
   *                                    L.StepLR(o, step_size=2, gamma=0.1)], milestones=[3]), 7)
   *   seq(lambda o: L.SequentialLR(o, [L.LinearLR(o, start_factor=0.25, total_iters=2),
   *       L.CosineAnnealingLR(o, T_max=4), L.LambdaLR(o, lambda e: 0.5 ** e)], milestones=[3, 6]), 9)
   *   seq(lambda o: L.SequentialLR(o, [L.LinearLR(o, start_factor=0.5, total_iters=2),
   *                                    L.CosineAnnealingWarmRestarts(o, T_0=3)], milestones=[2]), 8)
   *
   * (group 0 printed; group 1 is the same × 0.2). At a milestone the next scheduler restarts
   * at its epoch 0 from the initial lr (its closed form), not from the lr the previous one left.
   */
  const cases: Array<[string, (o: Optimizer) => Sched, number[]]> = [
    [
      "LinearLR warm-up, then ExponentialLR",
      (o) =>
        new SequentialLR(o, {
          schedulers: [new LinearLR(o, { startFactor: 0.1, totalIters: 4 }), new ExponentialLR(o, { gamma: 0.9 })],
          milestones: [5],
        }),
      [0.01, 0.0325, 0.055, 0.0775, 0.1, 0.1, 0.09, 0.081, 0.0729, 0.06561],
    ],
    [
      "ExponentialLR, then StepLR restarting from the initial lr",
      (o) =>
        new SequentialLR(o, {
          schedulers: [new ExponentialLR(o, { gamma: 0.5 }), new StepLR(o, { stepSize: 2, gamma: 0.1 })],
          milestones: [3],
        }),
      [0.1, 0.05, 0.025, 0.1, 0.1, 0.01, 0.01, 0.001],
    ],
    [
      "three schedulers: LinearLR, CosineAnnealingLR, LambdaLR",
      (o) =>
        new SequentialLR(o, {
          schedulers: [
            new LinearLR(o, { startFactor: 0.25, totalIters: 2 }),
            new CosineAnnealingLR(o, { tMax: 4 }),
            new LambdaLR(o, (e) => 0.5 ** e),
          ],
          milestones: [3, 6],
        }),
      [0.025, 0.0625, 0.1, 0.1, 0.0853553390593, 0.05, 0.1, 0.05, 0.025, 0.0125],
    ],
    [
      "LinearLR, then CosineAnnealingWarmRestarts",
      (o) =>
        new SequentialLR(o, {
          schedulers: [
            new LinearLR(o, { startFactor: 0.5, totalIters: 2 }),
            new CosineAnnealingWarmRestarts(o, { T0: 3 }),
          ],
          milestones: [2],
        }),
      [0.05, 0.075, 0.1, 0.075, 0.025, 0.1, 0.075, 0.025, 0.1],
    ],
  ];
  for (const [name, build, torchLrs] of cases) {
    it(name, () => {
      const opt = twoGroupOptimizer();
      const seq = lrSequence(opt, build(opt), torchLrs.length - 1);
      expectSequence(seq, (b, e) => (torchLrs[e] * b) / 0.1, 1e-10);
    });
  }

  it("stateDict holds every scheduler's state; a reload resumes exactly", () => {
    const build = (o: Optimizer) =>
      new SequentialLR(o, {
        schedulers: [new LinearLR(o, { startFactor: 0.1, totalIters: 3 }), new CosineAnnealingLR(o, { tMax: 5 })],
        milestones: [4],
      });
    const straightOpt = twoGroupOptimizer();
    const straight = lrSequence(straightOpt, build(straightOpt), 10);
    const opt = twoGroupOptimizer();
    const s = build(opt);
    const first = lrSequence(opt, s, 5);
    const sd = JSON.parse(JSON.stringify(s.stateDict()));
    expect(sd._schedulers).toHaveLength(2);
    expect(sd._schedulers[1].tMax).toBe(5);
    // Built first, then both states loaded (Lightning's restore order): building the
    // schedulers writes the lr, as in PyTorch, so they must not be built after the load.
    const opt2 = twoGroupOptimizer();
    const s2 = build(opt2);
    opt2.loadStateDict(opt.stateDict());
    s2.loadStateDict(sd);
    expect([...first, ...lrSequence(opt2, s2, 5).slice(1)]).toEqual(straight);
  });

  it("checks its arguments", () => {
    const opt = twoGroupOptimizer();
    const other = twoGroupOptimizer();
    const a = new LinearLR(opt);
    expect(
      () => new SequentialLR(opt, { schedulers: [a, new ExponentialLR(other, { gamma: 0.9 })], milestones: [2] }),
    ).toThrow(/expects all schedulers to belong to the same optimizer/);
    expect(
      () => new SequentialLR(opt, { schedulers: [a, new ExponentialLR(opt, { gamma: 0.9 })], milestones: [] }),
    ).toThrow(/one more than the number of milestone points/);
  });

  it("warns when stepped before the optimizer, like its first scheduler", () => {
    const warn = vi.spyOn(console, "warn").mockImplementation(() => {});
    const opt = twoGroupOptimizer();
    const s = new SequentialLR(opt, {
      schedulers: [new LinearLR(opt), new ExponentialLR(opt, { gamma: 0.9 })],
      milestones: [3],
    });
    s.step();
    expect(warn).toHaveBeenCalledTimes(1);
  });
});
