import { beforeAll, describe, expect, it } from "vitest";
import { optim } from "./exports";
import {
  Optimizer,
  SGD,
  Adam,
  AdamW,
  RMSprop,
  type OptimizerStateDict,
  type ParamGroup,
} from "../../../src/torch/optim/index";
import { tapeLength, withStepScope } from "../../../src/torch/autograd/index";
import { collectGarbage } from "../../../src/torch/autograd/lifetime";
import { tf, setupTorch, expectClose, values, drive } from "./helpers";

beforeAll(setupTorch);

const P0 = [0.5, -1.25, 2.0, 0.0, -0.3, 1.7];

type Make = (params: tf.Variable[] | Array<{ params: tf.Variable[]; lr?: number }>) => Optimizer;
const makers: Array<[string, Make]> = [
  ["SGD (nesterov, weight decay)", (p) => new SGD(p, { lr: 0.05, momentum: 0.9, nesterov: true, weightDecay: 0.01 })],
  ["Adam (amsgrad)", (p) => new Adam(p, { lr: 0.01, amsgrad: true, betas: [0.8, 0.9] })],
  ["AdamW", (p) => new AdamW(p, { lr: 0.01 })],
  ["RMSprop (centered, momentum)", (p) => new RMSprop(p, { lr: 0.01, centered: true, momentum: 0.5, alpha: 0.9 })],
];

describe("Optimizer base", () => {
  it("zeroGrad drops the gradients and disposes them; zeroGrad(false) zeroes them", () => {
    const a = tf.variable(tf.tensor([1, 2]));
    const b = tf.variable(tf.tensor([3]));
    const opt = new SGD([a, b], { lr: 0.1 });
    const ga = tf.tensor([5, 6]);
    a.grad = ga;
    b.grad = tf.tensor([7]);
    opt.zeroGrad(false);
    expect(values(a.grad!)).toEqual([0, 0]);
    expect(ga.isDisposed).toBe(true);
    opt.zeroGrad();
    expect(a.grad).toBeNull();
    expect(b.grad).toBeNull();
    opt.step(); // no grads: nothing moves
    expect(values(a)).toEqual([1, 2]);
  });

  it("skips parameters whose grad is null (no update, no state)", () => {
    for (const [, make] of makers) {
      const a = tf.variable(tf.tensor(P0));
      const frozen = tf.variable(tf.tensor(P0));
      const opt = make([a, frozen]);
      drive([a], opt, 3);
      expect(values(frozen)).toEqual(values(tf.tensor(P0)));
      expect(opt.state.has(frozen)).toBe(false);
      expect(opt.state.has(a)).toBe(true);
      expect(values(a)).not.toEqual(values(frozen));
      opt.dispose();
    }
  });

  it("checks its arguments with clear messages", () => {
    const a = tf.variable(tf.zeros([2]));
    const b = tf.variable(tf.zeros([2]));
    expect(() => new SGD([tf.zeros([2]) as unknown as tf.Variable])).toThrow(/can only optimize tf.Variables/);
    expect(() => new SGD(a as unknown as tf.Variable[])).toThrow(/iterable of tf.Variables/);
    expect(() => new SGD([a, a])).toThrow(/duplicate parameters/);
    expect(() => new SGD([{ params: [a] }, { params: [a, b] }])).toThrow(
      "some parameters appear in more than one parameter group",
    );
    const opt = new SGD([a], { lr: 0.1 });
    a.grad = tf.zeros([3]);
    expect(() => opt.step()).toThrow(/has shape \[2\] but its grad has shape \[3\]/);
  });

  it("accepts a generator (model.parameters()-style) and single-tensor groups", () => {
    const a = tf.variable(tf.zeros([2]));
    const b = tf.variable(tf.zeros([1]));
    function* params() {
      yield a;
      yield b;
    }
    expect(new SGD(params()).paramGroups[0].params).toEqual([a, b]);
    expect(new SGD([{ params: a }]).paramGroups[0].params).toEqual([a]);
  });

  it("addParamGroup fills defaults and the new group trains with its own lr", () => {
    const a = tf.variable(tf.tensor([1, 1]));
    const b = tf.variable(tf.tensor([1, 1]));
    const opt = new SGD([a], { lr: 0.1, momentum: 0.9 });
    opt.addParamGroup({ params: [b], lr: 0.5 });
    expect(opt.paramGroups[1]).toMatchObject({ lr: 0.5, momentum: 0.9, dampening: 0, nesterov: false });
    a.grad = tf.tensor([1, -1]);
    b.grad = tf.tensor([1, -1]);
    opt.step();
    expectClose(values(a), [0.9, 1.1]);
    expectClose(values(b), [0.5, 1.5]);
    expect(() => opt.addParamGroup({ params: [a] })).toThrow("some parameters appear in more than one parameter group");
  });

  it("step(closure) evaluates the closure once with grad enabled and returns its loss", async () => {
    const w = tf.variable(tf.tensor([2, -1]));
    const opt = new SGD([w], { lr: 0.25 });
    let calls = 0;
    const loss = opt.step(() => {
      calls++;
      opt.zeroGrad();
      const l = tf.sum(tf.square(w)); // grad 2w
      l.backward();
      return l.item();
    });
    expect(calls).toBe(1);
    expect(loss).toBeCloseTo(5, 6);
    expectClose(values(w), [2 - 0.25 * 4, -1 + 0.25 * 2]);

    const asyncLoss = await opt.step(async () => {
      opt.zeroGrad();
      const l = tf.sum(tf.square(w));
      l.backward();
      await Promise.resolve();
      return l.item();
    });
    expect(asyncLoss).toBeCloseTo(1 + 0.25, 6);
    expectClose(values(w), [1 - 0.25 * 2, -0.5 + 0.25 * 1]);
  });
});

describe("with real gradients from loss.backward()", () => {
  // Linear least squares: L(w) = Σ_r (X_r·w − y_r)², ∇L = 2 Xᵀ(Xw − y), computed in float64.
  const X = [
    [1, 2, -1],
    [0.5, -1, 2],
    [-1.5, 0.25, 1],
    [2, 1, 0.5],
  ];
  const y = [1, -2, 0.5, 3];
  function gradRef(w: number[]): number[] {
    const r = X.map((row, i) => row.reduce((s, x, j) => s + x * w[j], 0) - y[i]);
    return w.map((_, j) => 2 * X.reduce((s, row, i) => s + row[j] * r[i], 0));
  }

  it("Adam on a least-squares loss follows the float64 reference, and the step records nothing on the tape", () => {
    const w = tf.variable(tf.tensor([0.1, -0.2, 0.3]));
    const opt = new Adam([w], { lr: 0.05 });
    const Xt = tf.tensor(X);
    const yt = tf.tensor(y);
    // Reference: Adam in float64 on the analytic gradient.
    const p = [0.1, -0.2, 0.3];
    const m = [0, 0, 0];
    const v = [0, 0, 0];
    for (let t = 1; t <= 10; t++) {
      opt.zeroGrad();
      const loss = tf.tidy(() => tf.sum(tf.square(tf.sub(tf.squeeze(tf.matMul(Xt, tf.reshape(w, [3, 1]))), yt))));
      loss.backward();
      loss.dispose();
      const before = tapeLength();
      opt.step();
      expect(tapeLength()).toBe(before);

      const g = gradRef(p);
      for (let i = 0; i < 3; i++) {
        m[i] = 0.9 * m[i] + 0.1 * g[i];
        v[i] = 0.999 * v[i] + 0.001 * g[i] * g[i];
        p[i] -= (0.05 / (1 - 0.9 ** t)) * (m[i] / (Math.sqrt(v[i]) / Math.sqrt(1 - 0.999 ** t) + 1e-8));
      }
    }
    expectClose(values(w), p, 1e-4, 1e-6);
    // Parameters remain trainable variables after assign.
    expect(w.trainable).toBe(true);
  });
});

describe("memory", () => {
  for (const [name, make] of makers) {
    it(`${name}: tf.memory().numTensors is flat across 100 steps`, () => {
      const a = tf.variable(tf.tensor(P0, [2, 3]));
      const b = tf.variable(tf.tensor([0.5, -0.5]));
      const opt = make([a, b]);
      drive([a, b], opt, 1);
      const after1 = tf.memory().numTensors;
      drive([a, b], opt, 99, 1);
      expect(tf.memory().numTensors).toBe(after1);
      // stateDict/loadStateDict cycles replace the buffers without leaking either.
      for (let i = 0; i < 5; i++) opt.loadStateDict(opt.stateDict());
      drive([a, b], opt, 3, 100);
      expect(tf.memory().numTensors).toBe(after1);
      opt.zeroGrad();
      opt.dispose();
      expect(tf.memory().numTensors).toBeLessThan(after1);
    });
  }

  it("a plain loop (forward, backward, step, no dispose) inside step scopes stays flat", () => {
    const w = tf.variable(tf.randomNormal([8, 4], 0, 1, "float32", 1));
    const x = tf.keep(tf.randomNormal([16, 8], 0, 1, "float32", 2));
    const opt = new Adam([w], { lr: 1e-2 });
    const counts: number[] = [];
    for (let i = 0; i < 30; i++) {
      withStepScope(() => {
        opt.zeroGrad();
        const loss = tf.mean(tf.square(tf.matMul(x, w)));
        loss.backward();
        opt.step();
      });
      // Issue 8: lifetimes follow references, so the count is read after a collection.
      if (i % 10 === 1) {
        collectGarbage();
        counts.push(tf.memory().numTensors);
      }
    }
    expect(Math.max(...counts) - Math.min(...counts)).toBeLessThanOrEqual(2);
    expect(tapeLength()).toBe(0);
  });
});

describe("stateDict / loadStateDict", () => {
  it("has PyTorch's layout: state keyed by parameter index, groups listing indices", () => {
    const a = tf.variable(tf.tensor(P0, [2, 3]));
    const b = tf.variable(tf.tensor([1, 2]));
    const c = tf.variable(tf.tensor([3]));
    const opt = new Adam([{ params: [a, b] }, { params: [c], lr: 0.1 }], { lr: 0.01, betas: [0.8, 0.9] });
    drive([a, c], opt, 2); // b has no grad: no state
    const sd = opt.stateDict();
    expect(sd.paramGroups.map((g) => g.params)).toEqual([[0, 1], [2]]);
    expect(sd.paramGroups[0]).toMatchObject({ lr: 0.01, betas: [0.8, 0.9], eps: 1e-8, weightDecay: 0, amsgrad: false });
    expect(sd.paramGroups[1].lr).toBe(0.1);
    expect(Object.keys(sd.state).sort()).toEqual(["0", "2"]);
    expect(sd.state[0].step).toBe(2);
    expect((sd.state[0].expAvg as tf.Tensor).shape).toEqual([2, 3]);
    // Hyperparameters are copies: editing the dict does not touch the optimizer.
    (sd.paramGroups[0].betas as number[])[0] = 0.1;
    expect(opt.paramGroups[0].betas[0]).toBe(0.8);
  });

  /** Stands in for save/load: every tensor becomes plain numbers and back into a fresh tensor. */
  function roundTrip(sd: OptimizerStateDict): { sd: OptimizerStateDict; fresh: tf.Tensor[] } {
    const fresh: tf.Tensor[] = [];
    const state: OptimizerStateDict["state"] = {};
    for (const [k, entry] of Object.entries(sd.state)) {
      state[Number(k)] = Object.fromEntries(
        Object.entries(entry).map(([name, v]) => {
          if (typeof v === "number") return [name, v];
          const t = tf.tensor(Array.from(v.dataSync()), v.shape);
          fresh.push(t);
          return [name, t];
        }),
      );
    }
    return { sd: { state, paramGroups: JSON.parse(JSON.stringify(sd.paramGroups)) }, fresh };
  }

  for (const [name, make] of makers) {
    it(`${name}: 3 steps, save, new optimizer + load, 3 more == 6 straight`, () => {
      const straightA = tf.variable(tf.tensor(P0, [2, 3]));
      const straightB = tf.variable(tf.tensor([0.5, -0.5]));
      const straight = make([{ params: [straightA] }, { params: [straightB], lr: 0.002 }]);
      drive([straightA, straightB], straight, 6);

      const a = tf.variable(tf.tensor(P0, [2, 3]));
      const b = tf.variable(tf.tensor([0.5, -0.5]));
      const first = make([{ params: [a] }, { params: [b], lr: 0.002 }]);
      drive([a, b], first, 3);
      const { sd, fresh } = roundTrip(first.stateDict());
      first.dispose();

      const resumed = make([{ params: [a] }, { params: [b], lr: 123 }]);
      resumed.loadStateDict(sd);
      for (const t of fresh) t.dispose(); // the optimizer owns copies
      expect(resumed.paramGroups[1].lr).toBe(0.002);
      drive([a, b], resumed, 3, 3);

      expect(values(a)).toEqual(values(straightA));
      expect(values(b)).toEqual(values(straightB));
    });
  }

  it("a scheduler's lr and initialLr travel with the groups", () => {
    const w = tf.variable(tf.zeros([1]));
    const opt = new SGD([w], { lr: 0.1 });
    opt.paramGroups[0].lr = 0.025;
    opt.paramGroups[0].initialLr = 0.1;
    const opt2 = new SGD([tf.variable(tf.zeros([1]))], { lr: 0.1 });
    opt2.loadStateDict(opt.stateDict());
    expect(opt2.paramGroups[0]).toMatchObject({ lr: 0.025, initialLr: 0.1 });
  });

  it("rejects a state dict of another layout", () => {
    const a = tf.variable(tf.tensor(P0, [2, 3]));
    const b = tf.variable(tf.tensor([1, 2]));
    const opt = new Adam([a, b]);
    drive([a, b], opt, 1);
    const sd = opt.stateDict();
    expect(() => new Adam([{ params: [a] }, { params: [b] }]).loadStateDict(sd)).toThrow(
      /different number of parameter groups/,
    );
    expect(() => new Adam([a]).loadStateDict(sd)).toThrow(/doesn't match the size of optimizer's group/);
    const swapped = new Adam([b, a]);
    expect(() => swapped.loadStateDict(sd)).toThrow(
      /state\[0\]\.expAvg has shape \[2,3\] but its parameter has shape \[2\]/,
    );
    expect(swapped.state.size).toBe(0);
  });
});

describe("public surface", () => {
  it("is reachable as optim.* and optim.lrScheduler.* with types for annotations", () => {
    const w = tf.variable(tf.zeros([1]));
    const opt: optim.Optimizer = new optim.SGD([w], { lr: 0.1, momentum: 0.9 });
    const sched: optim.lrScheduler.LRScheduler = new optim.lrScheduler.StepLR(opt, { stepSize: 2 });
    const group: ParamGroup = opt.paramGroups[0];
    expect(group.lr).toBe(0.1);
    expect(sched.getLastLr()).toEqual([0.1]);
    expect(opt).toBeInstanceOf(optim.Optimizer);
  });
});
