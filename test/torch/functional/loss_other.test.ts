import { describe, it, expect, vi } from "vitest";
import { tf, F } from "lightning-ts/torch";
import { checkGrads, expectClose, vals } from "../nn/helpers";

const inp = [0.5, -1.2, 2.0, 0.0, 3.1, -0.4];
const tgt = [0.0, -1.0, 3.5, 0.0, 1.0, 0.1];
const I = () => tf.tensor2d(inp, [2, 3]);
const Tt = () => tf.tensor2d(tgt, [2, 3]);
const sum = (a: number[]) => a.reduce((s, v) => s + v, 0);
const mean = (a: number[]) => sum(a) / a.length;

describe("regression losses", () => {
  const d = inp.map((v, i) => v - tgt[i]);

  it("mseLoss / l1Loss with every reduction", () => {
    const sq = d.map((v) => v * v);
    const ab = d.map(Math.abs);
    expectClose(F.mseLoss(I(), Tt()), [mean(sq)]);
    expectClose(F.mseLoss(I(), Tt(), { reduction: "sum" }), [sum(sq)]);
    expectClose(F.mseLoss(I(), Tt(), { reduction: "none" }), sq, 1e-6, [2, 3]);
    expectClose(F.l1Loss(I(), Tt()), [mean(ab)]);
    expectClose(F.l1Loss(I(), Tt(), { reduction: "sum" }), [sum(ab)]);
    expectClose(F.l1Loss(I(), Tt(), { reduction: "none" }), ab, 1e-6, [2, 3]);
  });

  it("smoothL1Loss and huberLoss switch from quadratic to linear at beta / delta", () => {
    const beta = 0.8;
    const sl1 = d.map((v) => (Math.abs(v) < beta ? (0.5 * v * v) / beta : Math.abs(v) - 0.5 * beta));
    expectClose(F.smoothL1Loss(I(), Tt(), { beta }), [mean(sl1)]);
    expectClose(F.smoothL1Loss(I(), Tt(), { beta: 0 }), [mean(d.map(Math.abs))]);
    const delta = 1.5;
    const hub = d.map((v) => (Math.abs(v) <= delta ? 0.5 * v * v : delta * (Math.abs(v) - 0.5 * delta)));
    expectClose(F.huberLoss(I(), Tt(), { delta, reduction: "sum" }), [sum(hub)]);
  });

  it("warns (once) when shapes differ, then broadcasts like PyTorch", () => {
    const spy = vi.spyOn(process, "emitWarning").mockImplementation(() => undefined);
    const out = F.mseLoss(tf.tensor2d([[1], [2]]), tf.tensor1d([0, 1]), { reduction: "none" });
    expect(out.shape).toEqual([2, 2]);
    expectClose(out, [1, 0, 4, 1]);
    F.mseLoss(tf.tensor2d([[1], [2]]), tf.tensor1d([0, 1]));
    expect(spy).toHaveBeenCalledTimes(1);
    expect(String(spy.mock.calls[0][0])).toMatch(
      /target size \(\[2\]\) that is different to the input size \(\[2, 1\]\)/,
    );
    spy.mockRestore();
  });

  it("gradients: backward equals tf.variableGrads; l1's gradient at d = 0 is 0 like PyTorch", () => {
    const x = tf.variable(I());
    checkGrads(() => F.mseLoss(x, Tt()), [x]);
    expectClose(
      x.grad!,
      d.map((v) => (2 * v) / 6),
    );
    checkGrads(() => F.l1Loss(x, Tt()), [x]);
    expectClose(
      x.grad!,
      d.map((v) => Math.sign(v) / 6),
    );
    expect(x.grad!.dataSync()[3]).toBe(0); // input == target there
    checkGrads(() => F.smoothL1Loss(x, Tt(), { beta: 0.8 }), [x]);
    checkGrads(() => F.huberLoss(x, Tt(), { delta: 1.5 }), [x]);
  });
});

describe("binary cross entropy", () => {
  const p = [0.9, 0.2, 0.5, 1e-3, 0.999, 0.3];
  const t = [1, 0, 1, 1, 0, 0.25];
  const P = () => tf.tensor1d(p);
  const T = () => tf.tensor1d(t);
  const clampLog = (v: number) => Math.max(Math.log(v), -100);
  const bce = (pi: number, ti: number) => -(ti * clampLog(pi) + (1 - ti) * clampLog(1 - pi));

  it("binaryCrossEntropy: forward with weights and reductions", () => {
    const per = p.map((v, i) => bce(v, t[i]));
    expectClose(F.binaryCrossEntropy(P(), T()), [mean(per)]);
    expectClose(F.binaryCrossEntropy(P(), T(), { reduction: "none" }), per);
    const w = [1, 2, 3, 4, 5, 6];
    expectClose(F.binaryCrossEntropy(P(), T(), { weight: tf.tensor1d(w), reduction: "sum" }), [
      sum(per.map((v, i) => v * w[i])),
    ]);
  });

  it("clamps log at -100, so p = 0 or 1 gives a finite loss, and has PyTorch's finite gradient", () => {
    expectClose(
      F.binaryCrossEntropy(tf.tensor1d([0, 1, 0]), tf.tensor1d([1, 0, 0]), { reduction: "none" }),
      [100, 100, 0],
    );
    const x = tf.variable(tf.tensor1d([0, 1, 0.25]));
    const [g] = checkGrads(() => F.binaryCrossEntropy(x, tf.tensor1d([1, 0, 1]), { reduction: "sum" }), [x]);
    // (x - t) / max(x (1 - x), 1e-12)
    expectClose(g, [-1e12, 1e12, (0.25 - 1) / (0.25 * 0.75)], 1e-5);
  });

  it("binaryCrossEntropy gradient is (p - t) / (p (1 - p)) and flows to a target that requires grad", () => {
    const x = tf.variable(P());
    const tv = tf.variable(T());
    const [gx, gt] = checkGrads(() => F.binaryCrossEntropy(x, tv), [x, tv]);
    // With the float32 values the tensors hold (1 - 0.999 loses digits in float32).
    const pf = p.map(Math.fround);
    expectClose(
      gx,
      pf.map((v, i) => (v - t[i]) / (v * (1 - v)) / 6),
      1e-5,
    );
    expectClose(
      gt,
      pf.map((v) => (Math.log(1 - v) - Math.log(v)) / 6),
      1e-4,
    );
  });

  it("binaryCrossEntropyWithLogits: stable for huge logits, posWeight, weights", () => {
    const z = [0, 2.5, -1, 80, -80, 0.3];
    const sp = (v: number) => Math.max(v, 0) + Math.log1p(Math.exp(-Math.abs(v))); // log(1 + e^v)
    const per = z.map((v, i) => t[i] * sp(-v) + (1 - t[i]) * sp(v));
    const Z = () => tf.tensor1d(z);
    expectClose(F.binaryCrossEntropyWithLogits(Z(), T(), { reduction: "none" }), per);
    expectClose(F.binaryCrossEntropyWithLogits(Z(), T()), [mean(per)]);
    // posWeight pw scales the positive term: pw t log(1 + e^-z) + (1 - t) log(1 + e^z).
    const pw = 3;
    const perPw = z.map((v, i) => pw * t[i] * sp(-v) + (1 - t[i]) * sp(v));
    expectClose(F.binaryCrossEntropyWithLogits(Z(), T(), { posWeight: tf.scalar(pw), reduction: "sum" }), [sum(perPw)]);
    // Per-class posWeight broadcast along the last dim: [2, 3] with posWeight [3].
    const pwc = [1, 2, 0.5];
    const per2 = z.map((v, i) => pwc[i % 3] * t[i] * sp(-v) + (1 - t[i]) * sp(v));
    expectClose(
      F.binaryCrossEntropyWithLogits(tf.tensor2d(z, [2, 3]), tf.tensor2d(t, [2, 3]), {
        posWeight: tf.tensor1d(pwc),
        weight: tf.tensor1d([1, 1, 2]),
        reduction: "none",
      }),
      per2.map((v, i) => v * [1, 1, 2][i % 3]),
    );
  });

  it("binaryCrossEntropyWithLogits gradient is sigmoid(z) - t, also exactly at z = 0", () => {
    const z = [0, 2.5, -1, 0, -3, 0.3];
    const x = tf.variable(tf.tensor1d(z));
    const [g] = checkGrads(() => F.binaryCrossEntropyWithLogits(x, T(), { reduction: "sum" }), [x]);
    expectClose(
      g,
      z.map((v, i) => 1 / (1 + Math.exp(-v)) - t[i]),
      1e-6,
    );
    checkGrads(
      () =>
        F.binaryCrossEntropyWithLogits(x, T(), { posWeight: tf.scalar(2.5), weight: tf.tensor1d([1, 2, 1, 2, 1, 2]) }),
      [x],
    );
  });

  it("requires input and target of the same shape", () => {
    expect(() => F.binaryCrossEntropy(tf.tensor2d([[0.5], [0.5]]), tf.tensor1d([1, 0]))).toThrow(
      /target size \[2\] must be the same as input size \[2, 1\]/,
    );
    expect(() => F.binaryCrossEntropyWithLogits(tf.tensor1d([0.5]), tf.tensor1d([1, 0]))).toThrow(
      /must be the same as input size/,
    );
  });
});

describe("klDiv", () => {
  const logq = [Math.log(0.2), Math.log(0.5), Math.log(0.3), Math.log(0.6), Math.log(0.1), Math.log(0.3)];
  const tp = [0.1, 0.9, 0, 0.5, 0.25, 0.25];
  const Q = () => tf.tensor2d(logq, [2, 3]);
  const TP = () => tf.tensor2d(tp, [2, 3]);
  const pointwise = tp.map((v, i) => (v === 0 ? 0 : v * (Math.log(v) - logq[i])));

  it("every reduction; 0 * log 0 counts as 0", () => {
    const spy = vi.spyOn(process, "emitWarning").mockImplementation(() => undefined);
    expectClose(F.klDiv(Q(), TP(), { reduction: "none" }), pointwise, 1e-6, [2, 3]);
    expectClose(F.klDiv(Q(), TP(), { reduction: "sum" }), [sum(pointwise)]);
    expectClose(F.klDiv(Q(), TP(), { reduction: "batchmean" }), [sum(pointwise) / 2]);
    expectClose(F.klDiv(Q(), TP()), [mean(pointwise)]);
    spy.mockRestore();
  });

  it("logTarget: exp(t) (t - input)", () => {
    const lt = tp.map((v) => Math.log(v + 0.05));
    const ref = lt.map((v, i) => Math.exp(v) * (v - logq[i]));
    expectClose(F.klDiv(Q(), tf.tensor2d(lt, [2, 3]), { logTarget: true, reduction: "batchmean" }), [sum(ref) / 2]);
  });

  it("gradients: -t / N for the input, finite for a target that requires grad (even at 0)", () => {
    const x = tf.variable(Q());
    const [g] = checkGrads(() => F.klDiv(x, TP(), { reduction: "batchmean" }), [x]);
    expectClose(
      g,
      tp.map((v) => -v / 2),
    );
    const tv = tf.variable(TP());
    tv.grad = null;
    F.klDiv(Q(), tv, { reduction: "sum" }).backward();
    // d/dt [t log t - t q] = log t + 1 - q where t > 0; 0 where t = 0 (the log is of 1 there).
    const gt = vals(tv.grad!);
    tp.forEach((v, i) => {
      if (v > 0) expect(gt[i]).toBeCloseTo(Math.log(v) + 1 - logq[i], 5);
      else expect(gt[i]).toBeCloseTo(-logq[i], 5);
    });
    checkGrads(
      () =>
        F.klDiv(
          x,
          tf.tensor2d(
            tp.map((v) => Math.log(v + 0.05)),
            [2, 3],
          ),
          { logTarget: true, reduction: "sum" },
        ),
      [x],
    );
  });
});
