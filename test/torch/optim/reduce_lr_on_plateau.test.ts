import { beforeAll, describe, expect, it } from "vitest";
import { SGD, lrScheduler } from "../../../src/torch/optim/index";
import { tf, setupTorch } from "./helpers";

const { ReduceLROnPlateau } = lrScheduler;

beforeAll(setupTorch);

function optimizer(lrs: number[]) {
  return new SGD(
    lrs.map((lr) => ({ params: [tf.variable(tf.zeros([1]))], lr })),
    { lr: lrs[0] },
  );
}

function feed(sched: InstanceType<typeof ReduceLROnPlateau>, metrics: number[]): number[][] {
  return metrics.map((m) => {
    sched.step(m);
    return sched.getLastLr();
  });
}

describe("ReduceLROnPlateau", () => {
  it("min mode, relative threshold, patience, cooldown and minLr (hand-traced)", () => {
    const opt = optimizer([0.1]);
    const sched = new ReduceLROnPlateau(opt, { factor: 0.5, patience: 2, threshold: 0.1, cooldown: 1, minLr: 0.02 });
    expect(sched.getLastLr()).toEqual([0.1]); // construction leaves the lr alone
    const metrics = [
      1.0, 0.95, 0.92, 0.91, 0.95, 0.89, 0.85, 0.85, 0.85, 0.85, 0.85, 0.85, 0.85, 0.85, 0.85, 0.85, 0.85,
    ];
    // 1.0 best | 0.95, 0.92 not below 1.0·(1−0.1): bad 1, 2 | 0.91 bad 3 > 2: halve, cooldown 1
    // 0.95 ignored (cooldown) | 0.89 < 0.9: new best | 0.85 not < 0.801: bad 1, 2, 3: halve
    // cooldown, bad 1, 2, 3: 0.0125 → clamped to minLr 0.02 | later reductions change nothing.
    const expected = [
      0.1, 0.1, 0.1, 0.05, 0.05, 0.05, 0.05, 0.05, 0.025, 0.025, 0.025, 0.025, 0.02, 0.02, 0.02, 0.02, 0.02,
    ];
    const got = feed(sched, metrics).map((l) => l[0]);
    got.forEach((lr, i) => expect(lr, `after metric ${i}`).toBeCloseTo(expected[i], 15));
    expect(sched.best).toBe(0.89);
    expect(sched.lastEpoch).toBe(metrics.length);
  });

  it("max mode, absolute threshold, patience 0, per-group minLr", () => {
    const opt = optimizer([1, 1]);
    const sched = new ReduceLROnPlateau(opt, {
      mode: "max",
      thresholdMode: "abs",
      threshold: 0.05,
      patience: 0,
      minLr: [0, 0.05],
    });
    // 0.5 best | 0.54 ≤ 0.5+0.05: reduce | 0.56 best | 0.6 ≤ 0.61: reduce | 0.7 best | 0.7: reduce (group 2 at minLr)
    const got = feed(sched, [0.5, 0.54, 0.56, 0.6, 0.7, 0.7]);
    const expected = [
      [1, 1],
      [0.1, 0.1],
      [0.1, 0.1],
      [0.01, 0.05],
      [0.01, 0.05],
      [0.001, 0.05],
    ];
    got.forEach((lrs, i) => lrs.forEach((lr, g) => expect(lr, `step ${i} group ${g}`).toBeCloseTo(expected[i][g], 15)));
  });

  it("defaults: patience 10, factor 0.1; accepts a one-element tensor metric", () => {
    const opt = optimizer([1]);
    const sched = new ReduceLROnPlateau(opt);
    const lrs = feed(sched, new Array(12).fill(1)).map((l) => l[0]);
    // First call sets best; calls 2..11 are bad 1..10 (not > 10); call 12 is bad 11: reduce.
    expect(lrs.slice(0, 11)).toEqual(new Array(11).fill(1));
    expect(lrs[11]).toBeCloseTo(0.1, 15);
    sched.step(tf.scalar(0.5));
    expect(sched.best).toBe(0.5);
  });

  it("a change smaller than eps is skipped", () => {
    const opt = optimizer([1e-9]);
    const sched = new ReduceLROnPlateau(opt, { patience: 0 });
    feed(sched, [1, 1]);
    expect(opt.paramGroups[0].lr).toBe(1e-9);
  });

  it("stateDict round trip keeps best (±Infinity) and the counters", () => {
    const opt = optimizer([0.1]);
    const sched = new ReduceLROnPlateau(opt, { patience: 1, cooldown: 2 });
    const sd0 = sched.stateDict();
    expect(sd0.best).toBe(Infinity);
    feed(sched, [1, 2, 3]);
    const sd = sched.stateDict();
    expect(sd).toMatchObject({ best: 1, cooldownCounter: 2, numBadEpochs: 0, lastEpoch: 3 });
    const opt2 = optimizer([0.1]);
    opt2.loadStateDict(opt.stateDict());
    const sched2 = new ReduceLROnPlateau(opt2);
    sched2.loadStateDict(sd);
    const rest = [2, 2, 2, 2, 0.5];
    expect(feed(sched2, rest)).toEqual(feed(sched, rest));
  });

  it("checks its arguments", () => {
    const opt = optimizer([0.1]);
    expect(() => new ReduceLROnPlateau(opt, { factor: 1 })).toThrow("factor should be < 1.0.");
    expect(() => new ReduceLROnPlateau(opt, { mode: "avg" as "min" })).toThrow("mode avg is unknown!");
    expect(() => new ReduceLROnPlateau(opt, { thresholdMode: "x" as "rel" })).toThrow("threshold mode x is unknown!");
    expect(() => new ReduceLROnPlateau(opt, { minLr: [0, 0] })).toThrow("expected 1 minLrs, got 2");
    expect(() => new ReduceLROnPlateau(opt).step()).toThrow("needs the monitored metric");
    expect(() => new ReduceLROnPlateau(opt).step(tf.tensor([1, 2]))).toThrow("must have one element");
  });
});
