import { describe, it, expect } from "vitest";
import { tf, F } from "lightning-ts/torch";
import { checkGrads, expectClose, spreadVar, vals } from "../nn/helpers";

/** erf by its Taylor series, accurate to ~1e-12 for |x| <= 4 (independent of tfjs's erf). */
function erf(x: number): number {
  let term = x;
  let sum = x;
  for (let n = 1; n < 200; n++) {
    term *= (-x * x) / n;
    const add = term / (2 * n + 1);
    sum += add;
    if (Math.abs(add) < 1e-17) break;
  }
  return (2 / Math.sqrt(Math.PI)) * sum;
}

const xs = [-3.5, -2, -1.25, -0.5, -1e-3, 0, 1e-3, 0.4, 1, 2.5, 3.75];
const X = () => tf.tensor1d(xs);
const sig = (v: number) => 1 / (1 + Math.exp(-v));

describe("element-wise activations: forward against closed forms", () => {
  it("relu, relu6, leakyRelu, elu, selu", () => {
    expectClose(
      F.relu(X()),
      xs.map((v) => Math.max(v, 0)),
    );
    expectClose(F.relu6(tf.tensor1d([-1, 3, 7])), [0, 3, 6]);
    expectClose(
      F.leakyRelu(X(), 0.2),
      xs.map((v) => (v > 0 ? v : 0.2 * v)),
    );
    expectClose(
      F.leakyRelu(X()),
      xs.map((v) => (v > 0 ? v : 0.01 * v)),
    );
    expectClose(
      F.elu(X()),
      xs.map((v) => (v > 0 ? v : Math.expm1(v))),
    );
    expectClose(
      F.elu(X(), 2),
      xs.map((v) => (v > 0 ? v : 2 * Math.expm1(v))),
    );
    const alpha = 1.6732632423543772;
    const scale = 1.0507009873554805;
    expectClose(
      F.selu(X()),
      xs.map((v) => scale * (v > 0 ? v : alpha * Math.expm1(v))),
    );
  });

  it("sigmoid, logsigmoid, tanh, silu, softplus", () => {
    expectClose(F.sigmoid(X()), xs.map(sig));
    expectClose(
      F.logsigmoid(X()),
      xs.map((v) => Math.log(sig(v))),
    );
    expectClose(F.tanh(X()), xs.map(Math.tanh));
    expectClose(
      F.silu(X()),
      xs.map((v) => v * sig(v)),
    );
    expectClose(
      F.softplus(X()),
      xs.map((v) => Math.log1p(Math.exp(v))),
    );
    // beta = 2: log(1 + e^{2x}) / 2, linear once 2x > threshold = 3.
    expectClose(
      F.softplus(X(), { beta: 2, threshold: 3 }),
      xs.map((v) => (2 * v > 3 ? v : Math.log1p(Math.exp(2 * v)) / 2)),
    );
  });

  it("gelu is the exact erf form by default and the tanh form on request", () => {
    expectClose(
      F.gelu(X()),
      xs.map((v) => 0.5 * v * (1 + erf(v / Math.SQRT2))),
      2e-6,
    );
    const c = Math.sqrt(2 / Math.PI);
    expectClose(
      F.gelu(X(), { approximate: "tanh" }),
      xs.map((v) => 0.5 * v * (1 + Math.tanh(c * (v + 0.044715 * v ** 3)))),
      2e-6,
    );
    // The two forms differ measurably, so the default really is not the approximation.
    const diff = vals(tf.sub(F.gelu(X()), F.gelu(X(), { approximate: "tanh" }))).map(Math.abs);
    expect(Math.max(...diff)).toBeGreaterThan(1e-4);
    expect(() => F.gelu(X(), { approximate: "fast" as "tanh" })).toThrow(/approximate must be "none" or "tanh"/);
  });
});

describe("softmax / logSoftmax", () => {
  const shape = [2, 3, 4];
  const data = Array.from({ length: 24 }, (_, i) => Math.sin(i * 1.3) * 3);
  const at = (i: number, j: number, k: number) => data[(i * 3 + j) * 4 + k];

  function refSoftmax(dim: number, log: boolean): number[] {
    const out: number[] = [];
    for (let i = 0; i < 2; i++)
      for (let j = 0; j < 3; j++)
        for (let k = 0; k < 4; k++) {
          const idx = [i, j, k];
          const n = shape[dim];
          const row: number[] = [];
          for (let t = 0; t < n; t++) {
            const p = [...idx];
            p[dim] = t;
            row.push(at(p[0], p[1], p[2]));
          }
          const m = Math.max(...row);
          const lse = m + Math.log(row.reduce((s, v) => s + Math.exp(v - m), 0));
          const v = at(i, j, k) - lse;
          out.push(log ? v : Math.exp(v));
        }
    return out;
  }

  it("normalises over any dim, negative dims included", () => {
    const x = tf.tensor(data, shape);
    for (const dim of [0, 1, 2, -1, -3]) {
      const d = dim < 0 ? dim + 3 : dim;
      expectClose(F.softmax(x, dim), refSoftmax(d, false), 1e-6, shape);
      expectClose(F.logSoftmax(x, dim), refSoftmax(d, true), 1e-5, shape);
    }
  });

  it("is stable for large logits and requires a dim", () => {
    expectClose(F.logSoftmax(tf.tensor2d([[1000, 0]]), 1), [0, -1000]);
    expect(() => F.softmax(tf.tensor1d([1, 2]), undefined as unknown as number)).toThrow(/pass the dimension/);
    expect(() => F.softmax(tf.tensor1d([1, 2]), 1)).toThrow(/dimension out of range/);
  });

  it("normalize divides by max(||x||_p, eps) along dim 1", () => {
    const x = tf.tensor2d([
      [3, 4],
      [0, 0],
    ]);
    expectClose(F.normalize(x), [0.6, 0.8, 0, 0]);
    expectClose(F.normalize(x, { p: 1 }), [3 / 7, 4 / 7, 0, 0]);
    expectClose(F.normalize(x, { dim: 0 }), [1, 1, 0, 0]);
  });
});

describe("activation gradients: loss.backward() equals tf.variableGrads", () => {
  const cases: Array<[string, (x: tf.Tensor) => tf.Tensor]> = [
    ["relu", F.relu],
    ["relu6", F.relu6],
    ["leakyRelu", (x) => F.leakyRelu(x, 0.1)],
    ["elu(2)", (x) => F.elu(x, 2)],
    ["selu", F.selu],
    ["sigmoid", F.sigmoid],
    ["logsigmoid", F.logsigmoid],
    ["tanh", F.tanh],
    ["silu", F.silu],
    ["softplus", (x) => F.softplus(x, { beta: 2, threshold: 1 })],
    ["gelu", F.gelu],
    ["gelu tanh", (x) => F.gelu(x, { approximate: "tanh" })],
    ["softmax dim 0", (x) => F.softmax(x, 0)],
    ["logSoftmax dim 1", (x) => F.logSoftmax(x, 1)],
    ["normalize", (x) => F.normalize(x)],
  ];
  for (const [name, fn] of cases) {
    it(name, () => {
      const x = spreadVar([3, 5], 0, 2.5);
      const r = tf.tensor2d(
        Array.from({ length: 15 }, (_, i) => Math.cos(i)),
        [3, 5],
      );
      checkGrads(() => tf.sum(tf.mul(fn(x), r)), [x]);
    });
  }

  it("gelu's gradient matches the closed form Phi(x) + x phi(x)", () => {
    const x = tf.variable(tf.tensor1d(xs));
    const [g] = checkGrads(() => tf.sum(F.gelu(x)), [x]);
    expectClose(
      g,
      xs.map((v) => 0.5 * (1 + erf(v / Math.SQRT2)) + (v * Math.exp((-v * v) / 2)) / Math.sqrt(2 * Math.PI)),
      1e-5,
    );
  });

  it("normalize has a finite (zero) gradient on an all-zero row", () => {
    const x = tf.variable(
      tf.tensor2d([
        [3, 4],
        [0, 0],
      ]),
    );
    const [g] = checkGrads(
      () =>
        tf.sum(
          tf.mul(
            F.normalize(x),
            tf.tensor2d([
              [1, 2],
              [3, 4],
            ]),
          ),
        ),
      [x],
    );
    // d/dx (x/|x|) . r = (r - (x.r) x / |x|^2) / |x| for row 0; 0 for the zero row (clamped).
    expectClose(g, [(1 - (11 * 3) / 25) / 5, (2 - (11 * 4) / 25) / 5, 3e12, 4e12], 1e-5);
  });
});
