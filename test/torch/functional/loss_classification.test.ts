import { describe, it, expect } from "vitest";
import { tf, F } from "lightning-ts/torch";
import { checkGrads, expectClose, vals } from "../nn/helpers";

type Red = "mean" | "sum" | "none";

function logSoftmaxRows(rows: number[][]): number[][] {
  return rows.map((r) => {
    const m = Math.max(...r);
    const lse = m + Math.log(r.reduce((s, v) => s + Math.exp(v - m), 0));
    return r.map((v) => v - lse);
  });
}

/**
 * PyTorch's cross entropy for class-index targets, transcribed from ATen's
 * `cross_entropy_loss_label_smoothing` + `nll_loss`: the nll part reduced on its own (mean =
 * sum / sum of target weights), the smoothing part reduced on its own, then mixed.
 */
function refCE(
  logits: number[][],
  targets: number[],
  o: { weight?: number[]; ignoreIndex?: number; reduction?: Red; ls?: number } = {},
): number | number[] {
  const { weight, ignoreIndex = -100, reduction = "mean", ls = 0 } = o;
  const c = logits[0].length;
  const logp = logSoftmaxRows(logits);
  const w = (k: number) => (weight ? weight[k] : 1);
  const nll = targets.map((y, i) => (y === ignoreIndex ? 0 : -w(y) * logp[i][y]));
  const wsum = targets.reduce((s, y) => s + (y === ignoreIndex ? 0 : w(y)), 0);
  const count = targets.filter((y) => y !== ignoreIndex).length;
  const sum = (a: number[]) => a.reduce((s, v) => s + v, 0);
  const red = (a: number[], denom: number) =>
    reduction === "none" ? a : reduction === "sum" ? sum(a) : sum(a) / denom;
  const nllRed = red(nll, wsum);
  if (ls === 0) return nllRed;
  const smooth = targets.map((y, i) => (y === ignoreIndex ? 0 : -logp[i].reduce((s, v, k) => s + w(k) * v, 0)));
  const smoothRed = red(smooth, weight ? wsum : count);
  if (Array.isArray(nllRed)) return nllRed.map((v, i) => (1 - ls) * v + (ls / c) * (smoothRed as number[])[i]);
  return (1 - ls) * nllRed + (ls / c) * (smoothRed as number);
}

const logits = [
  [1.0, -0.5, 2.0, 0.3],
  [0.2, 0.1, -1.2, 0.7],
  [-2.0, 3.0, 0.5, 0.0],
  [0.4, 0.4, 0.4, -0.6],
  [1.5, -1.0, 0.0, 2.5],
];
const targets = [2, 0, 1, 3, 3];
const L = () => tf.tensor2d(logits);
const T = (t = targets) => tf.tensor1d(t, "int32");
const asArr = (v: number | number[]) => (Array.isArray(v) ? v : [v]);

describe("F.crossEntropy with class-index targets", () => {
  it("equals a hand computation: -log softmax at the target", () => {
    // logits [0, 0] -> log 2; logits [ln 3, 0] target 0 -> -log(3/4).
    expectClose(
      F.crossEntropy(
        tf.tensor2d([
          [0, 0],
          [Math.log(3), 0],
        ]),
        tf.tensor1d([1, 0], "int32"),
        { reduction: "none" },
      ),
      [Math.log(2), -Math.log(0.75)],
    );
  });

  for (const reduction of ["mean", "sum", "none"] as const) {
    it(`reduction ${reduction}`, () => {
      const out = F.crossEntropy(L(), T(), { reduction });
      expect(out.shape).toEqual(reduction === "none" ? [5] : []);
      expectClose(out, asArr(refCE(logits, targets, { reduction })));
    });
  }

  it("class weights: mean divides by the sum of the targets' weights", () => {
    const weight = [0.5, 2.0, 1.0, 0.25];
    for (const reduction of ["mean", "sum", "none"] as const) {
      expectClose(
        F.crossEntropy(L(), T(), { weight: tf.tensor1d(weight), reduction }),
        asArr(refCE(logits, targets, { weight, reduction })),
      );
    }
  });

  it("ignoreIndex: the default -100 and an in-range class are both left out of sum and mean", () => {
    const t = [2, -100, 1, 3, -100];
    expectClose(F.crossEntropy(L(), T(t)), [refCE(logits, t) as number]);
    expectClose(F.crossEntropy(L(), T(t), { reduction: "none" }), refCE(logits, t, { reduction: "none" }) as number[]);
    expectClose(F.crossEntropy(L(), T(), { ignoreIndex: 3 }), [refCE(logits, targets, { ignoreIndex: 3 }) as number]);
    const weight = [0.5, 2.0, 1.0, 0.25];
    expectClose(F.crossEntropy(L(), T(), { ignoreIndex: 3, weight: tf.tensor1d(weight) }), [
      refCE(logits, targets, { ignoreIndex: 3, weight }) as number,
    ]);
    // Every target ignored: 0 / 0, NaN as in PyTorch.
    expect(F.crossEntropy(L(), T([-100, -100, -100, -100, -100])).dataSync()[0]).toBeNaN();
  });

  it("label smoothing, with and without weights and ignored targets", () => {
    for (const reduction of ["mean", "sum", "none"] as const) {
      expectClose(
        F.crossEntropy(L(), T(), { labelSmoothing: 0.1, reduction }),
        asArr(refCE(logits, targets, { ls: 0.1, reduction })),
      );
    }
    const weight = [0.5, 2.0, 1.0, 0.25];
    const t = [2, 0, -100, 3, 1];
    for (const reduction of ["mean", "sum", "none"] as const) {
      const got = F.crossEntropy(L(), T(t), { labelSmoothing: 0.25, weight: tf.tensor1d(weight), reduction });
      expectClose(got, asArr(refCE(logits, t, { ls: 0.25, weight, reduction })));
    }
    // labelSmoothing = 1: the target is ignored entirely (uniform over classes).
    const uniform = logSoftmaxRows(logits).map((r) => -r.reduce((s, v) => s + v, 0) / 4);
    expectClose(F.crossEntropy(L(), T(), { labelSmoothing: 1, reduction: "none" }), uniform);
  });

  it("[N, C, d1] input: class dim 1, per-position losses of shape [N, d1]", () => {
    // x[n, c, d] = logits[n * 2 + d][c] for the first 4 rows.
    const x = tf.tensor3d([0, 1].map((n) => [0, 1, 2, 3].map((c) => [0, 1].map((d) => logits[n * 2 + d][c]))));
    const t = [2, 0, 1, 3];
    const ref = refCE(logits.slice(0, 4), t, { reduction: "none" }) as number[];
    expectClose(
      F.crossEntropy(
        x,
        tf.tensor2d(
          [
            [2, 0],
            [1, 3],
          ],
          [2, 2],
          "int32",
        ),
        { reduction: "none" },
      ),
      ref,
      1e-5,
      [2, 2],
    );
    expectClose(
      F.crossEntropy(
        x,
        tf.tensor2d(
          [
            [2, 0],
            [1, 3],
          ],
          [2, 2],
          "int32",
        ),
      ),
      [ref.reduce((a, b) => a + b) / 4],
    );
  });

  it("unbatched [C] input with a scalar target", () => {
    expectClose(
      F.crossEntropy(tf.tensor1d(logits[0]), tf.scalar(2, "int32")),
      [refCE([logits[0]], [2]) as number],
      1e-5,
      [],
    );
  });

  it("accepts integral float32 labels (tf.tensor([..]) default dtype)", () => {
    expectClose(F.crossEntropy(L(), tf.tensor1d(targets)), [refCE(logits, targets) as number]);
  });

  it("rejects bad targets with the expected shape or range in the message", () => {
    expect(() => F.crossEntropy(L(), tf.tensor2d([[1], [2], [0], [1], [1]], [5, 1], "int32"))).toThrow(
      /expected class-index target of shape \[5\] for input of shape \[5, 4\], got \[5, 1\]/,
    );
    expect(() => F.crossEntropy(L(), T([0, 1, 4, 0, 0]))).toThrow(/target 4 is out of bounds for 4 classes/);
    expect(() => F.crossEntropy(L(), T([0, 1, -1, 0, 0]))).toThrow(/target -1 is out of bounds/);
    expect(() => F.crossEntropy(L(), T(), { reduction: "avg" as Red })).toThrow(/reduction must be one of/);
    expect(() => F.crossEntropy(L(), T(), { weight: tf.tensor1d([1, 2]) })).toThrow(
      /weight must be a 1-D tensor with one entry per class \(\[4\]\)/,
    );
    expect(() => F.crossEntropy(L(), T(), { labelSmoothing: 1.5 })).toThrow(/labelSmoothing must be between 0 and 1/);
  });
});

describe("F.crossEntropy with class-probability targets", () => {
  const probs = logits.map((r, i) => r.map((_, k) => [0.1, 0.2, 0.3, 0.4][(k + i) % 4]));
  const P = () => tf.tensor2d(probs);
  const ref = (o: { ls?: number; weight?: number[] } = {}) => {
    const logp = logSoftmaxRows(logits);
    return logp.map(
      (r, i) =>
        -r.reduce((s, v, k) => {
          const t = o.ls ? probs[i][k] * (1 - o.ls) + o.ls / 4 : probs[i][k];
          return s + (o.weight ? o.weight[k] : 1) * t * v;
        }, 0),
    );
  };

  it("-sum_c p_c w_c log softmax_c, mean over the batch whatever the weights", () => {
    const per = ref();
    expectClose(F.crossEntropy(L(), P(), { reduction: "none" }), per);
    expectClose(F.crossEntropy(L(), P()), [per.reduce((a, b) => a + b) / 5]);
    const weight = [0.5, 2.0, 1.0, 0.25];
    const wper = ref({ weight, ls: 0.2 });
    expectClose(F.crossEntropy(L(), P(), { weight: tf.tensor1d(weight), labelSmoothing: 0.2 }), [
      wper.reduce((a, b) => a + b) / 5,
    ]);
    expectClose(F.crossEntropy(L(), P(), { reduction: "sum" }), [per.reduce((a, b) => a + b)]);
  });
});

describe("F.nllLoss", () => {
  it("on log-probabilities equals crossEntropy on the logits, with weights and ignoreIndex", () => {
    const weight = [0.5, 2.0, 1.0, 0.25];
    const logp = F.logSoftmax(L(), 1);
    for (const reduction of ["mean", "sum", "none"] as const) {
      expectClose(
        F.nllLoss(logp, T([2, 0, -100, 3, 1]), { reduction, weight: tf.tensor1d(weight) }),
        asArr(refCE(logits, [2, 0, -100, 3, 1], { reduction, weight })),
      );
    }
    // Directly: -input[i, y_i] averaged.
    const inp = tf.tensor2d([
      [-1, -2],
      [-3, -4],
    ]);
    expectClose(F.nllLoss(inp, tf.tensor1d([1, 0], "int32")), [(2 + 3) / 2]);
  });
});

describe("classification loss gradients", () => {
  const configs: Array<[string, F.CrossEntropyOptions, number[]]> = [
    ["plain mean", {}, targets],
    ["sum", { reduction: "sum" }, targets],
    ["weights + ignore", { weight: tf.tensor1d([0.5, 2, 1, 0.25]), ignoreIndex: 1 }, targets],
    ["smoothing + weights + -100", { labelSmoothing: 0.1, weight: tf.tensor1d([0.5, 2, 1, 0.25]) }, [2, -100, 1, 3, 0]],
  ];
  for (const [name, opts, t] of configs) {
    it(`crossEntropy ${name}: backward equals tf.variableGrads`, () => {
      const x = tf.variable(L());
      checkGrads(() => F.crossEntropy(x, T(t), opts), [x]);
    });
  }

  it("mean cross entropy has gradient (softmax - onehot) / N", () => {
    const x = tf.variable(L());
    const [g] = checkGrads(() => F.crossEntropy(x, T()), [x]);
    const sm = logSoftmaxRows(logits).map((r) => r.map(Math.exp));
    expectClose(
      g,
      sm.flatMap((r, i) => r.map((p, k) => (p - (k === targets[i] ? 1 : 0)) / 5)),
    );
  });

  it("soft targets and nllLoss", () => {
    const x = tf.variable(L());
    const p = tf.softmax(tf.tensor2d(logits.map((r) => r.map((v) => -v))));
    checkGrads(() => F.crossEntropy(x, p, { labelSmoothing: 0.3 }), [x]);
    checkGrads(() => F.nllLoss(F.logSoftmax(x, 1), T(), { weight: tf.tensor1d([1, 2, 3, 4]) }), [x]);
    expect(vals(x.grad!).every(Number.isFinite)).toBe(true);
  });
});

describe("F.crossEntropy over [N, C] and class indices as one kernel (cross_entropy.ts)", () => {
  // float64 textbook: loss_i = logsumexp(x_i) - x_i[t_i]; gradient (softmax - onehot) * scale
  function textbook(x: number[][], t: number[], ignore: number, reduction: "mean" | "sum") {
    let total = 0;
    let n = 0;
    const grad = x.map((row) => row.map(() => 0));
    x.forEach((row, i) => {
      if (t[i] === ignore) return;
      const m = Math.max(...row);
      const s = row.reduce((a, v) => a + Math.exp(v - m), 0);
      total += m + Math.log(s) - row[t[i]!]!;
      n++;
      row.forEach((v, k) => (grad[i]![k] = Math.exp(v - m) / s - (k === t[i] ? 1 : 0)));
    });
    const scale = reduction === "sum" ? 1 : 1 / n;
    return { loss: reduction === "sum" ? total : total / n, grad: grad.map((r) => r.map((g) => g * scale)) };
  }

  const x = [
    [2.5, -1, 0.25, 80],
    [-3, 1e-3, 7, 7],
    [0, 0, 0, 0],
    [100, -100, 50, 99.5],
    [1, 2, 3, 4],
  ];
  for (const [reduction, t, ignore] of [
    ["mean", [3, 2, 0, 1, 2], -100],
    ["sum", [3, 2, 0, 1, 2], -100],
    ["mean", [3, 1, -100, 0, 2], -100],
    ["mean", [3, 1, 2, 0, 2], 2],
  ] as const) {
    it(`${reduction}, targets ${t}, ignoreIndex ${ignore}: the float64 loss and gradient within float32 rounding, in one kernel`, async () => {
      const input = tf.variable(tf.tensor2d(x));
      const target = tf.tensor1d(t as unknown as number[], "int32");
      const want = textbook(x, t as unknown as number[], ignore, reduction);
      const profile = await tf.profile(() => F.crossEntropy(input, target, { reduction, ignoreIndex: ignore }));
      expect(profile.kernelNames).toContain("LightningTsCrossEntropy");
      expect(profile.kernelNames).not.toContain("LogSoftmax");
      const loss = F.crossEntropy(input, target, { reduction, ignoreIndex: ignore });
      expect(Math.abs(loss.dataSync()[0]! - want.loss)).toBeLessThanOrEqual(Math.abs(want.loss) * 1e-6);
      loss.backward();
      const g = (input as unknown as { grad: tf.Tensor }).grad.arraySync() as number[][];
      g.forEach((row, i) => row.forEach((v, k) => expect(Math.abs(v - want.grad[i]![k]!)).toBeLessThanOrEqual(1e-6)));
    });
  }

  it("every target ignored: mean is NaN (0/0), as in PyTorch; sum is 0", () => {
    const input = tf.tensor2d([[1, 2], [3, 4]]);
    const target = tf.tensor1d([-100, -100], "int32");
    expect(Number.isNaN(F.crossEntropy(input, target).dataSync()[0])).toBe(true);
    expect(F.crossEntropy(input, target, { reduction: "sum" }).dataSync()[0]).toBe(0);
  });
});
