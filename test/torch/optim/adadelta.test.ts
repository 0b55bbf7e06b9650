import { beforeAll, describe, expect, it } from "vitest";
import { Adadelta } from "../../../src/torch/optim/index";
import { tf, setupTorch, gradArray, expectClose, values, drive } from "./helpers";

beforeAll(setupTorch);

type Opts = { lr: number; rho: number; eps: number; weightDecay: number; maximize: boolean };

/**
 * PyTorch's Adadelta algorithm box in float64:
 *   g ← ±∇ + λθ;  v ← ρv + (1−ρ)g²;  Δ = √(u + ε)/√(v + ε) · g;  u ← ρu + (1−ρ)Δ²;  θ ← θ − γΔ
 */
function adadeltaReference(p0: number[], steps: number, o: Opts): number[] {
  const p = [...p0];
  const v = p.map(() => 0);
  const u = p.map(() => 0);
  for (let t = 0; t < steps; t++) {
    const raw = gradArray(t, p.length);
    for (let i = 0; i < p.length; i++) {
      const g = (o.maximize ? -raw[i] : raw[i]) + o.weightDecay * p[i];
      v[i] = o.rho * v[i] + (1 - o.rho) * g * g;
      const delta = (Math.sqrt(u[i] + o.eps) / Math.sqrt(v[i] + o.eps)) * g;
      u[i] = o.rho * u[i] + (1 - o.rho) * delta * delta;
      p[i] -= o.lr * delta;
    }
  }
  return p;
}

const P0 = [0.5, -1.25, 2.0, 0.0, -0.3, 1.7];
const base: Opts = { lr: 1.0, rho: 0.9, eps: 1e-6, weightDecay: 0, maximize: false };

describe("Adadelta matches PyTorch's update formula", () => {
  const cases: Array<[string, Partial<Opts>]> = [
    ["defaults (lr 1.0, rho 0.9, eps 1e-6)", {}],
    ["lr 0.5, rho 0.5, a large eps (inside both square roots)", { lr: 0.5, rho: 0.5, eps: 1e-2 }],
    ["weight decay", { weightDecay: 0.1 }],
    ["weight decay + maximize", { weightDecay: 0.2, maximize: true }],
  ];
  for (const [name, extra] of cases) {
    it(name, () => {
      const o = { ...base, ...extra };
      const w = tf.variable(tf.tensor(P0, [3, 2]));
      const opt = new Adadelta([w], o);
      drive([w], opt, 10);
      expectClose(values(w), adadeltaReference(P0, 10, o), 1e-5, 1e-7);
      opt.dispose();
      w.dispose();
    });
  }

  it("has PyTorch's defaults and keeps the documented state", () => {
    const w = tf.variable(tf.tensor(P0));
    const opt = new Adadelta([w]);
    const { params: _p, ...hyper } = opt.paramGroups[0];
    expect(hyper).toEqual({ lr: 1.0, rho: 0.9, eps: 1e-6, weightDecay: 0, maximize: false });
    drive([w], opt, 3);
    const s = opt.state.get(w)!;
    expect(Object.keys(s).sort()).toEqual(["accDelta", "squareAvg", "step"]);
    expect(s.step).toBe(3);
  });

  it("stateDict round trip continues exactly", () => {
    const a = tf.variable(tf.tensor(P0));
    const optA = new Adadelta([a], { lr: 0.7 });
    drive([a], optA, 8);

    const b = tf.variable(tf.tensor(P0));
    const optB = new Adadelta([b], { lr: 0.7 });
    drive([b], optB, 4);
    const c = tf.variable(b.clone());
    const optC = new Adadelta([c]);
    optC.loadStateDict(optB.stateDict());
    expect(optC.paramGroups[0].lr).toBe(0.7);
    drive([c], optC, 4, 4);
    expect(values(c)).toEqual(values(a));
  });

  it("rejects invalid arguments", () => {
    const w = tf.variable(tf.zeros([2]));
    expect(() => new Adadelta([w], { lr: -1 })).toThrow("Invalid learning rate: -1");
    expect(() => new Adadelta([w], { rho: 1.5 })).toThrow("Invalid rho value: 1.5");
    expect(() => new Adadelta([w], { eps: -1 })).toThrow("Invalid epsilon value: -1");
    expect(() => new Adadelta([w], { weightDecay: -1 })).toThrow("Invalid weightDecay value: -1");
  });
});
