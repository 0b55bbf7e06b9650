import { beforeAll, describe, expect, it } from "vitest";
import { Adagrad } from "../../../src/torch/optim/index";
import { tf, setupTorch, gradArray, expectClose, values, drive } from "./helpers";

beforeAll(setupTorch);

type Opts = {
  lr: number;
  lrDecay: number;
  weightDecay: number;
  initialAccumulatorValue: number;
  eps: number;
  maximize: boolean;
};

/**
 * PyTorch's Adagrad algorithm box in float64 (t counts from 1):
 *   g ← ±∇ + λθ;  γ̃ = γ / (1 + (t − 1)η);  s ← s + g²;  θ ← θ − γ̃ g / (√s + ε),  s₀ = τ
 */
function adagradReference(p0: number[], steps: number, o: Opts): number[] {
  const p = [...p0];
  const sum = p.map(() => o.initialAccumulatorValue);
  for (let t = 1; t <= steps; t++) {
    const raw = gradArray(t - 1, p.length);
    const clr = o.lr / (1 + (t - 1) * o.lrDecay);
    for (let i = 0; i < p.length; i++) {
      const g = (o.maximize ? -raw[i] : raw[i]) + o.weightDecay * p[i];
      sum[i] += g * g;
      p[i] -= (clr * g) / (Math.sqrt(sum[i]) + o.eps);
    }
  }
  return p;
}

const P0 = [0.5, -1.25, 2.0, 0.0, -0.3, 1.7];
const base: Opts = { lr: 1e-2, lrDecay: 0, weightDecay: 0, initialAccumulatorValue: 0, eps: 1e-10, maximize: false };

describe("Adagrad matches PyTorch's update formula", () => {
  const cases: Array<[string, Partial<Opts>]> = [
    ["defaults", {}],
    ["lr 0.1 with lrDecay", { lr: 0.1, lrDecay: 0.05 }],
    ["initialAccumulatorValue and a large eps (outside the sqrt)", { lr: 0.1, initialAccumulatorValue: 0.5, eps: 0.1 }],
    ["weight decay", { lr: 0.1, weightDecay: 0.1 }],
    ["weight decay + maximize", { lr: 0.1, weightDecay: 0.2, maximize: true }],
  ];
  for (const [name, extra] of cases) {
    it(name, () => {
      const o = { ...base, ...extra };
      const w = tf.variable(tf.tensor(P0, [2, 3]));
      const opt = new Adagrad([w], o);
      drive([w], opt, 10);
      expectClose(values(w), adagradReference(P0, 10, o), 1e-5, 1e-7);
      opt.dispose();
      w.dispose();
    });
  }

  it("has PyTorch's defaults; its state exists from construction, as in PyTorch", () => {
    const w = tf.variable(tf.tensor(P0));
    const opt = new Adagrad([w], { initialAccumulatorValue: 0.25 });
    const { params: _p, ...hyper } = opt.paramGroups[0];
    expect(hyper).toEqual({
      lr: 1e-2,
      lrDecay: 0,
      weightDecay: 0,
      initialAccumulatorValue: 0.25,
      eps: 1e-10,
      maximize: false,
    });
    const before = opt.stateDict().state[0];
    expect(before.step).toBe(0);
    expect(values(before.sum as tf.Tensor)).toEqual(P0.map(() => 0.25));
    drive([w], opt, 2);
    expect(opt.state.get(w)!.step).toBe(2);
  });

  it("a group added later gets its state on its first step", () => {
    const a = tf.variable(tf.tensor(P0));
    const b = tf.variable(tf.tensor(P0));
    const opt = new Adagrad([a], { lr: 0.1 });
    opt.addParamGroup({ params: [b], lrDecay: 0.05 });
    drive([a, b], opt, 5);
    expect(opt.state.get(b)!.step).toBe(5);
    const o = { ...base, lr: 0.1, lrDecay: 0.05 };
    // b is params[1], so drive gave it the gradients with salt 1.
    const ref = (() => {
      const p = [...P0];
      const sum = p.map(() => 0);
      for (let t = 1; t <= 5; t++) {
        const g = gradArray(t - 1, p.length, 1);
        const clr = o.lr / (1 + (t - 1) * o.lrDecay);
        for (let i = 0; i < p.length; i++) {
          sum[i] += g[i] * g[i];
          p[i] -= (clr * g[i]) / (Math.sqrt(sum[i]) + o.eps);
        }
      }
      return p;
    })();
    expectClose(values(b), ref);
  });

  it("stateDict round trip continues exactly", () => {
    const a = tf.variable(tf.tensor(P0));
    const optA = new Adagrad([a], { lr: 0.1, lrDecay: 0.01 });
    drive([a], optA, 8);

    const b = tf.variable(tf.tensor(P0));
    const optB = new Adagrad([b], { lr: 0.1, lrDecay: 0.01 });
    drive([b], optB, 4);
    const c = tf.variable(b.clone());
    const optC = new Adagrad([c]);
    optC.loadStateDict(optB.stateDict());
    drive([c], optC, 4, 4);
    expect(values(c)).toEqual(values(a));
  });

  it("rejects invalid arguments", () => {
    const w = tf.variable(tf.zeros([2]));
    expect(() => new Adagrad([w], { lr: -1 })).toThrow("Invalid learning rate: -1");
    expect(() => new Adagrad([w], { lrDecay: -1 })).toThrow("Invalid lrDecay value: -1");
    expect(() => new Adagrad([w], { weightDecay: -1 })).toThrow("Invalid weightDecay value: -1");
    expect(() => new Adagrad([w], { initialAccumulatorValue: -1 })).toThrow(
      "Invalid initialAccumulatorValue value: -1",
    );
    expect(() => new Adagrad([w], { eps: -1 })).toThrow("Invalid epsilon value: -1");
  });
});
