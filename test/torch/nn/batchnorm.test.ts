import { describe, it, expect } from "vitest";
import { tf, nn, noGrad } from "lightning-ts/torch";
import { checkGrads, expectClose, spread, vals } from "./helpers";

/** Per-channel statistics of NCHW-like data ([N, C, *spatial]) in plain JS. */
function channelStats(x: number[], shape: number[]) {
  const [n, c] = shape;
  const inner = shape.slice(2).reduce((a, b) => a * b, 1);
  const mean: number[] = [];
  const biased: number[] = [];
  const unbiased: number[] = [];
  for (let ci = 0; ci < c; ci++) {
    const v: number[] = [];
    for (let ni = 0; ni < n; ni++) for (let k = 0; k < inner; k++) v.push(x[(ni * c + ci) * inner + k]);
    const m = v.reduce((s, a) => s + a, 0) / v.length;
    const ss = v.reduce((s, a) => s + (a - m) ** 2, 0);
    mean.push(m);
    biased.push(ss / v.length);
    unbiased.push(ss / (v.length - 1));
  }
  return { mean, biased, unbiased, inner };
}

function normalized(
  x: number[],
  shape: number[],
  mean: number[],
  variance: number[],
  w: number[],
  b: number[],
  eps = 1e-5,
): number[] {
  const c = shape[1];
  const inner = shape.slice(2).reduce((a, b2) => a * b2, 1);
  return x.map((v, i) => {
    const ci = Math.floor(i / inner) % c;
    return ((v - mean[ci]) / Math.sqrt(variance[ci] + eps)) * w[ci] + b[ci];
  });
}

describe("nn.BatchNorm1d / BatchNorm2d", () => {
  it("has PyTorch's parameters and buffers, with PyTorch's state-dict names", () => {
    const bn = new nn.BatchNorm2d(3);
    expect([...bn.namedParameters()].map(([n, p]) => [n, p.shape])).toEqual([
      ["weight", [3]],
      ["bias", [3]],
    ]);
    expect([...bn.namedBuffers()].map(([n]) => n)).toEqual(["running_mean", "running_var", "num_batches_tracked"]);
    expect(vals(bn.weight!)).toEqual([1, 1, 1]);
    expect(vals(bn.bias!)).toEqual([0, 0, 0]);
    expect(vals(bn.runningMean!)).toEqual([0, 0, 0]);
    expect(vals(bn.runningVar!)).toEqual([1, 1, 1]);
    expect(bn.numBatchesTracked!.dtype).toBe("int32");
    class Net extends nn.Module {
      bn1 = new nn.BatchNorm1d(4);
    }
    expect(Object.keys(new Net().stateDict())).toEqual([
      "bn1.weight",
      "bn1.bias",
      "bn1.running_mean",
      "bn1.running_var",
      "bn1.num_batches_tracked",
    ]);
    expect(bn.toString()).toBe("BatchNorm2d(3, eps=1e-05, momentum=0.1, affine=True, track_running_stats=True)");
  });

  it("training: batch statistics, running stats move by momentum toward the unbiased variance", () => {
    const shape = [4, 3, 2, 3];
    const bn = new nn.BatchNorm2d(3, { momentum: 0.25 });
    bn.weight!.assign(tf.tensor1d([1, 2, -1]));
    bn.bias!.assign(tf.tensor1d([0, 0.5, 1]));
    let rm = [0, 0, 0];
    let rv = [1, 1, 1];
    for (let step = 0; step < 2; step++) {
      const x = spread(shape, step, 3);
      const xs = vals(x);
      const s = channelStats(xs, shape);
      expectClose(bn.forward(x), normalized(xs, shape, s.mean, s.biased, [1, 2, -1], [0, 0.5, 1]), 1e-5, shape);
      rm = rm.map((v, c) => 0.75 * v + 0.25 * s.mean[c]);
      rv = rv.map((v, c) => 0.75 * v + 0.25 * s.unbiased[c]);
      expectClose(bn.runningMean!, rm, 1e-5);
      expectClose(bn.runningVar!, rv, 1e-5);
    }
    expect(vals(bn.numBatchesTracked!)).toEqual([2]);
  });

  it("eval: normalises with the running statistics and does not update them", () => {
    const bn = new nn.BatchNorm1d(3);
    bn.forward(spread([8, 3], 0, 2));
    const rm = vals(bn.runningMean!);
    const rv = vals(bn.runningVar!);
    bn.eval();
    const x = spread([5, 3], 1);
    expectClose(bn.forward(x), normalized(vals(x), [5, 3], rm, rv, [1, 1, 1], [0, 0, 0]), 1e-5, [5, 3]);
    expect(vals(bn.runningMean!)).toEqual(rm);
    expect(vals(bn.numBatchesTracked!)).toEqual([1]);
    // One sample is fine in eval mode.
    expect(bn.forward(tf.zeros([1, 3])).shape).toEqual([1, 3]);
  });

  it("BatchNorm1d on [N, C, L] normalises over N and L", () => {
    const shape = [3, 2, 5];
    const x = spread(shape, 0.3, 2);
    const s = channelStats(vals(x), shape);
    expectClose(
      new nn.BatchNorm1d(2).forward(x),
      normalized(vals(x), shape, s.mean, s.biased, [1, 1], [0, 0]),
      1e-5,
      shape,
    );
  });

  it("momentum null is a cumulative moving average", () => {
    const bn = new nn.BatchNorm1d(2, { momentum: null });
    const means: number[][] = [];
    for (let i = 0; i < 3; i++) {
      const x = spread([6, 2], i, 1 + i);
      means.push(channelStats(vals(x), [6, 2]).mean);
      bn.forward(x);
    }
    expectClose(
      bn.runningMean!,
      [0, 1].map((c) => (means[0][c] + means[1][c] + means[2][c]) / 3),
      1e-5,
    );
  });

  it("trackRunningStats false: no buffers, batch statistics in eval too; affine false: no parameters", () => {
    const bn = new nn.BatchNorm1d(2, { trackRunningStats: false, affine: false });
    expect(bn.parameters()).toHaveLength(0);
    expect(bn.buffers()).toHaveLength(0);
    bn.eval();
    const x = spread([4, 2], 0, 2);
    const s = channelStats(vals(x), [4, 2]);
    expectClose(bn.forward(x), normalized(vals(x), [4, 2], s.mean, s.biased, [1, 1], [0, 0]), 1e-5);
  });

  it("updates running stats in training mode even under noGrad (like torch.no_grad)", () => {
    const bn = new nn.BatchNorm1d(2);
    noGrad(() => bn.forward(spread([4, 2], 0, 3)));
    expect(vals(bn.runningMean!)).not.toEqual([0, 0]);
  });

  it("explains bad input", () => {
    expect(() => new nn.BatchNorm2d(3).forward(tf.zeros([2, 3, 4]))).toThrow(
      "BatchNorm2d(3): expected input of shape [N, 3, H, W], got [2, 3, 4]",
    );
    expect(() => new nn.BatchNorm1d(3).forward(tf.zeros([2, 4]))).toThrow(
      "BatchNorm1d(3): expected input of shape [N, 3] or [N, 3, L], got [2, 4]",
    );
    expect(() => new nn.BatchNorm1d(3).forward(tf.zeros([1, 3]))).toThrow(
      /expected more than 1 value per channel when training/,
    );
  });

  it("gradients in training and eval mode equal tf.variableGrads", () => {
    const bn = new nn.BatchNorm2d(3);
    bn.weight!.assign(tf.tensor1d([1, 2, -1]));
    bn.bias!.assign(tf.tensor1d([0, 0.5, 1]));
    const x = tf.variable(spread([2, 3, 3, 2], 0, 2));
    const r = spread([2, 3, 3, 2], 5);
    checkGrads(() => tf.sum(tf.mul(bn.forward(x), r)), [x, ...bn.parameters()]);
    bn.eval();
    const [gx] = checkGrads(() => tf.sum(tf.mul(bn.forward(x), r)), [x, ...bn.parameters()]);
    // Eval mode is affine per channel: dL/dx = r * w / sqrt(running_var + eps).
    const rv = vals(bn.runningVar!);
    expectClose(
      gx,
      vals(r).map((v, i) => (v * [1, 2, -1][Math.floor(i / 6) % 3]) / Math.sqrt(rv[Math.floor(i / 6) % 3] + 1e-5)),
      1e-5,
    );
  });
});
