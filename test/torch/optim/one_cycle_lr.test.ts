import { beforeAll, describe, expect, it } from "vitest";
import { SGD, Adam, Optimizer, lrScheduler, type ParamGroup } from "../../../src/torch/optim/index";
import { tf, setupTorch, gradArray, expectClose, values } from "./helpers";

const { OneCycleLR } = lrScheduler;

beforeAll(setupTorch);

const MAX = 0.1;
const INIT = MAX / 25;
const MIN = INIT / 1e4;

/** The annealing curves from PyTorch's OneCycleLR docs. */
const cosAnneal = (start: number, end: number, pct: number) =>
  end + ((start - end) / 2) * (1 + Math.cos(Math.PI * pct));
const linAnneal = (start: number, end: number, pct: number) => start + (end - start) * pct;

/** lr and momentum at each step, from the schedule's documented shape (phase ends at pct·N − 1, …). */
function reference(
  total: number,
  phases: Array<{ end: number; lr: [number, number]; mom: [number, number] }>,
  anneal = cosAnneal,
): Array<{ lr: number; mom: number }> {
  const out = [];
  for (let s = 0; s <= total; s++) {
    let start = 0;
    for (let i = 0; i < phases.length; i++) {
      const ph = phases[i];
      if (s <= ph.end || i === phases.length - 1) {
        const pct = (s - start) / (ph.end - start);
        out.push({ lr: anneal(ph.lr[0], ph.lr[1], pct), mom: anneal(ph.mom[0], ph.mom[1], pct) });
        break;
      }
      start = ph.end;
    }
  }
  return out;
}

function run(
  opt: Optimizer,
  sched: InstanceType<typeof OneCycleLR>,
  steps: number,
  momentum: (g: ParamGroup) => number,
) {
  const seq = [{ lr: sched.getLastLr()[0], mom: momentum(opt.paramGroups[0]) }];
  for (let s = 1; s <= steps; s++) {
    opt.step();
    sched.step();
    seq.push({ lr: sched.getLastLr()[0], mom: momentum(opt.paramGroups[0]) });
  }
  return seq;
}

function expectSeq(got: Array<{ lr: number; mom: number }>, want: Array<{ lr: number; mom: number }>) {
  expect(got.length).toBe(want.length);
  got.forEach((g, s) => {
    expect(g.lr, `lr at step ${s}`).toBeCloseTo(want[s].lr, 14);
    expect(g.mom, `momentum at step ${s}`).toBeCloseTo(want[s].mom, 14);
  });
}

const sgdMomentum = (g: ParamGroup) => g.momentum as number;
const adamBeta1 = (g: ParamGroup) => (g.betas as number[])[0];

describe("OneCycleLR", () => {
  it("two-phase cos schedule: lr and SGD momentum at every step and at the known points", () => {
    const opt = new SGD([tf.variable(tf.zeros([1]))], { lr: 123, momentum: 0.5 });
    const seq = run(opt, new OneCycleLR(opt, { maxLr: MAX, totalSteps: 20 }), 19, sgdMomentum);
    // pctStart 0.3 of 20 steps: warm-up ends at step 0.3·20 − 1 = 5, the cycle at 19.
    expectSeq(
      seq,
      reference(19, [
        { end: 5, lr: [INIT, MAX], mom: [0.95, 0.85] },
        { end: 19, lr: [MAX, MIN], mom: [0.85, 0.95] },
      ]),
    );
    expect(seq[0].lr).toBeCloseTo(0.004, 15);
    expect(seq[0].mom).toBeCloseTo(0.95, 15);
    expect(seq[5].lr).toBeCloseTo(0.1, 15);
    expect(seq[5].mom).toBeCloseTo(0.85, 15);
    expect(seq[12].lr).toBeCloseTo((0.1 + 4e-7) / 2, 15); // halfway through the anneal
    expect(seq[12].mom).toBeCloseTo(0.9, 15);
    expect(seq[19].lr).toBeCloseTo(4e-7, 18);
    expect(seq[19].mom).toBeCloseTo(0.95, 15);
    expect(opt.paramGroups[0]).toMatchObject({
      initialLr: INIT,
      maxLr: MAX,
      minLr: MIN,
      maxMomentum: 0.95,
      baseMomentum: 0.85,
    });
  });

  it("three-phase schedule cycles Adam's beta1 and leaves beta2 alone", () => {
    const opt = new Adam([tf.variable(tf.zeros([1]))], { betas: [0.9, 0.99] });
    const seq = run(
      opt,
      new OneCycleLR(opt, { maxLr: MAX, totalSteps: 20, pctStart: 0.25, threePhase: true }),
      19,
      adamBeta1,
    );
    // Phase ends: 0.25·20 − 1 = 4, 2·0.25·20 − 2 = 8, 19.
    expectSeq(
      seq,
      reference(19, [
        { end: 4, lr: [INIT, MAX], mom: [0.95, 0.85] },
        { end: 8, lr: [MAX, INIT], mom: [0.85, 0.95] },
        { end: 19, lr: [INIT, MIN], mom: [0.95, 0.95] },
      ]),
    );
    expect(seq[4].lr).toBeCloseTo(MAX, 15);
    expect(seq[8].lr).toBeCloseTo(INIT, 15);
    expect(seq[14].mom).toBe(0.95);
    expect((opt.paramGroups[0].betas as number[])[1]).toBe(0.99);
  });

  it("linear annealing, custom factors and momenta, epochs × stepsPerEpoch", () => {
    const opt = new SGD([tf.variable(tf.zeros([1]))], { lr: 1, momentum: 0.9 });
    const sched = new OneCycleLR(opt, {
      maxLr: 1,
      epochs: 4,
      stepsPerEpoch: 5,
      pctStart: 0.5,
      annealStrategy: "linear",
      divFactor: 10,
      finalDivFactor: 100,
      baseMomentum: 0.8,
      maxMomentum: 0.9,
    });
    expect(sched.totalSteps).toBe(20);
    const seq = run(opt, sched, 20, sgdMomentum);
    expectSeq(
      seq,
      reference(
        20,
        [
          { end: 9, lr: [0.1, 1], mom: [0.9, 0.8] },
          { end: 19, lr: [1, 0.001], mom: [0.8, 0.9] },
        ],
        linAnneal,
      ),
    );
    expect(seq[3].lr).toBeCloseTo(0.1 + 0.9 * (3 / 9), 14);
  });

  it("without cycleMomentum leaves momentum alone; per-group maxLr", () => {
    const opt = new SGD([{ params: [tf.variable(tf.zeros([1]))] }, { params: [tf.variable(tf.zeros([1]))] }], {
      lr: 1,
      momentum: 0.3,
    });
    const sched = new OneCycleLR(opt, { maxLr: [1, 2], totalSteps: 10, cycleMomentum: false });
    // (cos annealing at pct 0 is computed as max + (init − max)/2·2, so not bit-exact 1/25.)
    sched.getLastLr().forEach((lr, i) => expect(lr).toBeCloseTo([1 / 25, 2 / 25][i], 15));
    opt.step();
    sched.step();
    expect(opt.paramGroups.map((g) => g.momentum)).toEqual([0.3, 0.3]);
    expect(() => new OneCycleLR(opt, { maxLr: [1, 2, 3], totalSteps: 10 })).toThrow("expected 2 values for maxLr");
  });

  it("Adam trains with the scheduled lr and beta1 (bias correction uses the current beta1, as torch)", () => {
    const w = tf.variable(tf.tensor([0.5, -1, 2]));
    const opt = new Adam([w], { lr: 1 });
    const sched = new OneCycleLR(opt, { maxLr: 0.05, totalSteps: 10 });
    const sch = reference(9, [
      { end: 2, lr: [0.002, 0.05], mom: [0.95, 0.85] },
      { end: 9, lr: [0.05, 0.05 / 25 / 1e4], mom: [0.85, 0.95] },
    ]);
    const p = [0.5, -1, 2];
    const m = [0, 0, 0];
    const v = [0, 0, 0];
    for (let t = 1; t <= 9; t++) {
      const g = gradArray(t, 3);
      w.grad = tf.tensor(g);
      opt.step();
      const { lr, mom: b1 } = sch[t - 1];
      for (let i = 0; i < 3; i++) {
        m[i] = b1 * m[i] + (1 - b1) * g[i];
        v[i] = 0.999 * v[i] + 0.001 * g[i] * g[i];
        p[i] -= (lr / (1 - b1 ** t)) * (m[i] / (Math.sqrt(v[i]) / Math.sqrt(1 - 0.999 ** t) + 1e-8));
      }
      sched.step();
    }
    expectClose(values(w), p);
  });

  it("refuses to step past totalSteps and checks its arguments", () => {
    const opt = new SGD([tf.variable(tf.zeros([1]))], { momentum: 0.9 });
    const sched = new OneCycleLR(opt, { maxLr: 1, totalSteps: 5 });
    for (let i = 0; i < 5; i++) {
      opt.step();
      sched.step();
    }
    expect(() => sched.step()).toThrow("OneCycleLR: tried to step 6 times. The specified number of total steps is 5");
    expect(() => new OneCycleLR(opt, { maxLr: 1 })).toThrow("either totalSteps OR (epochs AND stepsPerEpoch)");
    expect(() => new OneCycleLR(opt, { maxLr: 1, totalSteps: 2.5 })).toThrow("totalSteps must be a positive integer");
    expect(() => new OneCycleLR(opt, { maxLr: 1, totalSteps: 5, pctStart: 1.5 })).toThrow(
      "expected pctStart between 0 and 1",
    );
    expect(() => new OneCycleLR(opt, { maxLr: 1, totalSteps: 5, annealStrategy: "exp" as "cos" })).toThrow(
      "annealStrategy must be one of 'cos' or 'linear'",
    );

    class PlainGD extends Optimizer<{ lr: number }> {
      constructor(params: tf.Variable[]) {
        super(params, { lr: 0.1 });
      }
      protected override updateGroup(group: ParamGroup<{ lr: number }>): void {
        for (const [p, g] of this.paramsWithGrad(group)) p.assign(tf.sub(p, tf.mul(g, group.lr)));
      }
    }
    const plain = new PlainGD([tf.variable(tf.zeros([1]))]);
    expect(() => new OneCycleLR(plain, { maxLr: 1, totalSteps: 5 })).toThrow(
      "optimizer must support momentum or beta1",
    );
    expect(() => new OneCycleLR(plain, { maxLr: 1, totalSteps: 5, cycleMomentum: false })).not.toThrow();
  });
});
