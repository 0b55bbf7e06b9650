import { beforeAll, describe, expect, it } from "vitest";
import { Adam, AdamW } from "../../../src/torch/optim/index";
import { tf, setupTorch, gradArray, expectClose, values } from "./helpers";

beforeAll(setupTorch);

type Opts = {
  lr: number;
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay: number;
  amsgrad: boolean;
  maximize: boolean;
  decoupled: boolean;
};

/** Gradient schedule: large early, small later, so amsgrad's running max of v matters. */
function gradsFor(t: number, n: number): number[] {
  const scale = t < 3 ? 2.0 : 0.05;
  return gradArray(t, n).map((g) => g * scale);
}

/**
 * PyTorch's Adam / AdamW algorithm boxes in float64:
 *   g ← ±∇;  Adam: g ← g + λθ;  AdamW: θ ← θ(1 − γλ)
 *   m ← β1 m + (1−β1) g;  v ← β2 v + (1−β2) g²;  vmax ← max(vmax, v)
 *   θ ← θ − (γ / (1−β1^t)) · m / (√(amsgrad ? vmax : v) / √(1−β2^t) + ε)
 */
function adamReference(p0: number[], steps: number, o: Opts): number[] {
  const p = [...p0];
  const m = p.map(() => 0);
  const v = p.map(() => 0);
  const vmax = p.map(() => 0);
  for (let t = 1; t <= steps; t++) {
    const raw = gradsFor(t - 1, p.length);
    for (let i = 0; i < p.length; i++) {
      let g = o.maximize ? -raw[i] : raw[i];
      if (o.weightDecay !== 0) {
        if (o.decoupled) p[i] *= 1 - o.lr * o.weightDecay;
        else g += o.weightDecay * p[i];
      }
      m[i] = o.beta1 * m[i] + (1 - o.beta1) * g;
      v[i] = o.beta2 * v[i] + (1 - o.beta2) * g * g;
      vmax[i] = Math.max(vmax[i], v[i]);
      const bc1 = 1 - o.beta1 ** t;
      const bc2 = 1 - o.beta2 ** t;
      const denom = Math.sqrt(o.amsgrad ? vmax[i] : v[i]) / Math.sqrt(bc2) + o.eps;
      p[i] -= (o.lr / bc1) * (m[i] / denom);
    }
  }
  return p;
}

function run(kind: "Adam" | "AdamW", p0: number[], steps: number, options: ConstructorParameters<typeof Adam>[1]) {
  const w = tf.variable(tf.tensor(p0, [2, p0.length / 2]));
  const opt = kind === "Adam" ? new Adam([w], options) : new AdamW([w], options);
  for (let t = 0; t < steps; t++) {
    w.grad = tf.tensor(gradsFor(t, w.size), w.shape);
    opt.step();
  }
  const out = values(w);
  opt.dispose();
  w.dispose();
  return out;
}

const P0 = [0.5, -1.25, 2.0, 0.0, -0.3, 1.7];
const base: Opts = {
  lr: 0.01,
  beta1: 0.9,
  beta2: 0.999,
  eps: 1e-8,
  weightDecay: 0,
  amsgrad: false,
  maximize: false,
  decoupled: false,
};

describe("Adam matches PyTorch's update formula", () => {
  const cases: Array<[string, Partial<Opts>]> = [
    ["defaults", {}],
    ["other betas and a large eps (eps added after the bias-corrected sqrt)", { beta1: 0.5, beta2: 0.9, eps: 0.1 }],
    ["L2 weight decay", { weightDecay: 0.2 }],
    ["amsgrad (β2 0.9, so v shrinks and the running max matters)", { amsgrad: true, beta2: 0.9 }],
    ["maximize", { maximize: true }],
    ["everything", { amsgrad: true, maximize: true, weightDecay: 0.1, beta1: 0.8, beta2: 0.95, lr: 0.05 }],
  ];
  for (const [name, extra] of cases) {
    it(name, () => {
      const o = { ...base, ...extra };
      const got = run("Adam", P0, 8, {
        lr: o.lr,
        betas: [o.beta1, o.beta2],
        eps: o.eps,
        weightDecay: o.weightDecay,
        amsgrad: o.amsgrad,
        maximize: o.maximize,
      });
      expectClose(got, adamReference(P0, 8, o));
    });
  }

  it("bias correction makes the first step exactly lr·sign(g) in size", () => {
    // m̂ = g and v̂ = g² after one step, so Δθ = −lr·g/(|g| + eps).
    const w = tf.variable(tf.tensor([1, 1, 1]));
    const opt = new Adam([w], { lr: 0.1 });
    w.grad = tf.tensor([3, -0.02, 0.5]);
    opt.step();
    expectClose(values(w), [0.9, 1.1, 0.9], 1e-6);
    expect(opt.state.get(w)!.step).toBe(1);
  });

  it("amsgrad changes the result when v shrinks (the test above is sensitive to it)", () => {
    const a = run("Adam", P0, 8, { lr: 0.01, betas: [0.9, 0.9], amsgrad: true });
    const b = run("Adam", P0, 8, { lr: 0.01, betas: [0.9, 0.9], amsgrad: false });
    expect(Math.max(...a.map((x, i) => Math.abs(x - b[i])))).toBeGreaterThan(1e-3);
  });

  it("rejects invalid arguments with PyTorch's messages", () => {
    const w = tf.variable(tf.zeros([2]));
    expect(() => new Adam([w], { betas: [1, 0.999] })).toThrow("Invalid beta parameter at index 0: 1");
    expect(() => new Adam([w], { betas: [0.9, -0.1] })).toThrow("Invalid beta parameter at index 1: -0.1");
    expect(() => new Adam([w], { eps: -1 })).toThrow("Invalid epsilon value: -1");
    expect(() => new Adam([w], { lr: -1 })).toThrow("Invalid learning rate: -1");
    expect(() => new Adam([w], { weightDecay: -1 })).toThrow("Invalid weightDecay value: -1");
  });
});

describe("AdamW: decoupled weight decay", () => {
  it("defaults to weightDecay 1e-2, decoupled", () => {
    const opt = new AdamW([tf.variable(tf.zeros([1]))]);
    expect(opt.paramGroups[0].weightDecay).toBe(1e-2);
    expect(opt.paramGroups[0].decoupledWeightDecay).toBe(true);
    expect(opt.paramGroups[0].lr).toBe(1e-3);
  });

  it("matches the AdamW formula, and differs from Adam's L2 decay", () => {
    const o = { ...base, lr: 0.05, weightDecay: 0.3 };
    const adamw = run("AdamW", P0, 8, { lr: o.lr, weightDecay: o.weightDecay });
    const adam = run("Adam", P0, 8, { lr: o.lr, weightDecay: o.weightDecay });
    expectClose(adamw, adamReference(P0, 8, { ...o, decoupled: true }));
    expectClose(adam, adamReference(P0, 8, { ...o, decoupled: false }));
    expect(Math.max(...adamw.map((x, i) => Math.abs(x - adam[i])))).toBeGreaterThan(1e-3);
  });

  it("with amsgrad and maximize", () => {
    const o = { ...base, lr: 0.02, weightDecay: 0.1, amsgrad: true, maximize: true, decoupled: true };
    const got = run("AdamW", P0, 8, { lr: o.lr, weightDecay: o.weightDecay, amsgrad: true, maximize: true });
    expectClose(got, adamReference(P0, 8, o));
  });

  it("shrinks a parameter whose update is zero by exactly (1 − lr·weightDecay) per step", () => {
    // grad 0 ⇒ m = v = 0 ⇒ Adam's term is 0; only the decoupled decay acts (Adam's L2 would move it by ~lr).
    const w = tf.variable(tf.tensor([2, -4]));
    const opt = new AdamW([w], { lr: 0.1, weightDecay: 0.5 });
    for (let t = 0; t < 3; t++) {
      w.grad = tf.zeros([2]);
      opt.step();
    }
    expectClose(values(w), [2 * 0.95 ** 3, -4 * 0.95 ** 3], 1e-6);
  });
});
