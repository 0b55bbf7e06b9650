import { beforeAll, describe, expect, it } from "vitest";
import { RMSprop } from "../../../src/torch/optim/index";
import { tf, setupTorch, gradArray, expectClose, values, drive } from "./helpers";

beforeAll(setupTorch);

type Opts = {
  lr: number;
  alpha: number;
  eps: number;
  weightDecay: number;
  momentum: number;
  centered: boolean;
  maximize: boolean;
};

/**
 * PyTorch's RMSprop algorithm box in float64:
 *   g ← ±∇ + λθ;  v ← αv + (1−α)g²
 *   centered: ḡ ← αḡ + (1−α)g;  ṽ = v − ḡ²   (else ṽ = v)
 *   μ > 0: b ← μb + g/(√ṽ + ε);  θ ← θ − γb    (else θ ← θ − γ g/(√ṽ + ε))
 */
function rmspropReference(p0: number[], steps: number, o: Opts): number[] {
  const p = [...p0];
  const v = p.map(() => 0);
  const gAvg = p.map(() => 0);
  const buf = p.map(() => 0);
  for (let t = 0; t < steps; t++) {
    const raw = gradArray(t, p.length);
    for (let i = 0; i < p.length; i++) {
      const g = (o.maximize ? -raw[i] : raw[i]) + o.weightDecay * p[i];
      v[i] = o.alpha * v[i] + (1 - o.alpha) * g * g;
      let vt = v[i];
      if (o.centered) {
        gAvg[i] = o.alpha * gAvg[i] + (1 - o.alpha) * g;
        vt = v[i] - gAvg[i] * gAvg[i];
      }
      const avg = Math.sqrt(vt) + o.eps;
      if (o.momentum > 0) {
        buf[i] = o.momentum * buf[i] + g / avg;
        p[i] -= o.lr * buf[i];
      } else {
        p[i] -= (o.lr * g) / avg;
      }
    }
  }
  return p;
}

const P0 = [0.5, -1.25, 2.0, 0.0, -0.3, 1.7];
const base: Opts = { lr: 0.01, alpha: 0.99, eps: 1e-8, weightDecay: 0, momentum: 0, centered: false, maximize: false };

describe("RMSprop matches PyTorch's update formula", () => {
  const cases: Array<[string, Partial<Opts>]> = [
    ["defaults", {}],
    ["alpha 0.9 and a large eps (eps outside the sqrt)", { alpha: 0.9, eps: 0.1 }],
    ["momentum", { momentum: 0.9 }],
    ["centered", { centered: true, alpha: 0.9 }],
    ["centered + momentum", { centered: true, momentum: 0.8, alpha: 0.9 }],
    ["weight decay + maximize", { weightDecay: 0.2, maximize: true }],
  ];
  for (const [name, extra] of cases) {
    it(name, () => {
      const o = { ...base, ...extra };
      const w = tf.variable(tf.tensor(P0, [3, 2]));
      const opt = new RMSprop([w], o);
      drive([w], opt, 8);
      expectClose(values(w), rmspropReference(P0, 8, o));
      opt.dispose();
      w.dispose();
    });
  }

  it("keeps the documented state", () => {
    const w = tf.variable(tf.tensor(P0));
    const opt = new RMSprop([w], { centered: true, momentum: 0.5 });
    drive([w], opt, 2);
    const s = opt.state.get(w)!;
    expect(Object.keys(s).sort()).toEqual(["gradAvg", "momentumBuffer", "squareAvg", "step"]);
    expect(s.step).toBe(2);
  });

  it("rejects invalid arguments", () => {
    const w = tf.variable(tf.zeros([2]));
    expect(() => new RMSprop([w], { alpha: -0.1 })).toThrow("Invalid alpha value: -0.1");
    expect(() => new RMSprop([w], { momentum: -1 })).toThrow("Invalid momentum value: -1");
    expect(() => new RMSprop([w], { eps: -1 })).toThrow("Invalid epsilon value: -1");
  });
});
