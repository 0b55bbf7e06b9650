import { beforeAll, describe, expect, it } from "vitest";
import { SGD } from "../../../src/torch/optim/index";
import { tf, setupTorch, gradArray, expectClose, values, drive } from "./helpers";

beforeAll(setupTorch);

type Opts = {
  lr: number;
  momentum: number;
  dampening: number;
  weightDecay: number;
  nesterov: boolean;
  maximize: boolean;
};

/**
 * PyTorch's SGD algorithm box (torch.optim.SGD docs), float64:
 *   g ← ±∇ + λθ;  b ← g (t = 1) | μb + (1−τ)g;  g ← nesterov ? g + μb : b;  θ ← θ − γg
 */
function sgdReference(p0: number[], steps: number, o: Opts, salt = 0): number[] {
  const p = [...p0];
  let buf: number[] | null = null;
  for (let t = 0; t < steps; t++) {
    const raw = gradArray(t, p.length, salt);
    const g = raw.map((v, i) => (o.maximize ? -v : v) + o.weightDecay * p[i]);
    let d = g;
    if (o.momentum !== 0) {
      const prev: number[] | null = buf;
      const b: number[] = prev === null ? [...g] : prev.map((bv, i) => o.momentum * bv + (1 - o.dampening) * g[i]);
      buf = b;
      d = o.nesterov ? g.map((v, i) => v + o.momentum * b[i]) : b;
    }
    for (let i = 0; i < p.length; i++) p[i] -= o.lr * d[i];
  }
  return p;
}

const P0 = [0.5, -1.25, 2.0, 0.0, -0.3, 1.7];
const base: Opts = { lr: 0.05, momentum: 0, dampening: 0, weightDecay: 0, nesterov: false, maximize: false };

const cases: Array<[string, Partial<Opts>]> = [
  ["plain", {}],
  ["momentum", { momentum: 0.9 }],
  ["momentum + dampening", { momentum: 0.9, dampening: 0.3 }],
  ["nesterov", { momentum: 0.8, nesterov: true }],
  ["weight decay", { weightDecay: 0.1 }],
  ["maximize", { maximize: true, momentum: 0.5 }],
  ["everything", { momentum: 0.7, nesterov: true, weightDecay: 0.05, maximize: true, lr: 0.02 }],
];

describe("SGD matches PyTorch's update formula", () => {
  for (const [name, extra] of cases) {
    it(name, () => {
      const o = { ...base, ...extra };
      const w = tf.variable(tf.tensor(P0, [2, 3]));
      const opt = new SGD([w], o);
      drive([w], opt, 6);
      expectClose(values(w), sgdReference(P0, 6, o));
      opt.dispose();
      w.dispose();
    });
  }

  it("the first momentum step seeds the buffer with the raw gradient (no dampening)", () => {
    const w = tf.variable(tf.tensor([1, 1]));
    const opt = new SGD([w], { lr: 1, momentum: 0.9, dampening: 0.5 });
    w.grad = tf.tensor([2, -4]);
    opt.step();
    expectClose(values(w), [1 - 2, 1 + 4]);
    expectClose(values(opt.state.get(w)!.momentumBuffer as tf.Tensor), [2, -4]);
    w.grad = tf.tensor([2, -4]);
    opt.step();
    // b = 0.9·2 + 0.5·2 = 2.8; w = -1 - 2.8
    expectClose(values(w), [-1 - 2.8, 5 + 5.6]);
  });

  it("uses each group's own hyperparameters", () => {
    const a = tf.variable(tf.tensor(P0));
    const b = tf.variable(tf.tensor(P0));
    const opt = new SGD([{ params: [a] }, { params: [b], lr: 0.01, momentum: 0.5 }], { lr: 0.1, momentum: 0.9 });
    expect(opt.paramGroups[1].weightDecay).toBe(0);
    expect(opt.paramGroups[0].momentum).toBe(0.9);
    drive([a, b], opt, 4);
    expectClose(values(a), sgdReference(P0, 4, { ...base, lr: 0.1, momentum: 0.9 }, 0));
    expectClose(values(b), sgdReference(P0, 4, { ...base, lr: 0.01, momentum: 0.5 }, 1));
  });

  it("rejects invalid arguments with PyTorch's messages", () => {
    const w = tf.variable(tf.zeros([2]));
    expect(() => new SGD([w], { lr: 0.1, nesterov: true })).toThrow(
      "Nesterov momentum requires a momentum and zero dampening",
    );
    expect(() => new SGD([w], { lr: 0.1, nesterov: true, momentum: 0.9, dampening: 0.1 })).toThrow(
      "Nesterov momentum requires a momentum and zero dampening",
    );
    expect(() => new SGD([w], { lr: -1 })).toThrow("Invalid learning rate: -1");
    expect(() => new SGD([w], { lr: 0.1, momentum: -0.5 })).toThrow("Invalid momentum value");
    expect(() => new SGD([w], { lr: 0.1, weightDecay: -1 })).toThrow("Invalid weightDecay value");
    expect(() => new SGD([], { lr: 0.1 })).toThrow("optimizer got an empty parameter list");
  });
});
