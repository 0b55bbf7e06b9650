import { describe, it, expect, afterAll } from "vitest";
import { tf, nn, F } from "lightning-ts/torch";
import { checkGrads, expectClose, spread, spreadVar, vals } from "./helpers";

/** Per-(n, c) mean and biased/unbiased variance of [N, C, M], in double. */
function stats(x: number[], [n, c, m]: number[]) {
  const mean: number[] = [];
  const biased: number[] = [];
  const unbiased: number[] = [];
  for (let q = 0; q < n * c; q++) {
    const s = x.slice(q * m, (q + 1) * m);
    const mu = s.reduce((a, b) => a + b, 0) / m;
    const ss = s.reduce((a, b) => a + (b - mu) ** 2, 0);
    mean.push(mu);
    biased.push(ss / m);
    unbiased.push(ss / (m - 1));
  }
  return { mean, biased, unbiased };
}

describe.each(["wasm", "cpu"])("nn.InstanceNorm2d / F.instanceNorm on %s", (backend) => {
  const previous = tf.getBackend();
  afterAll(async () => {
    await tf.setBackend(previous);
  });

  it("normalises each (sample, channel) over H, W; affine trains with gradients equal to tf.variableGrads", async () => {
    await tf.setBackend(backend);
    const x = spreadVar([2, 3, 3, 4], 0.1, 2);
    const { mean, biased } = stats(vals(x), [2, 3, 12]);
    const expected = vals(x).map((v, i) => {
      const q = Math.floor(i / 12);
      return (v - mean[q]) / Math.sqrt(biased[q] + 1e-5);
    });
    const plain = new nn.InstanceNorm2d(3);
    expect(plain.parameters()).toHaveLength(0);
    expectClose(plain.forward(x), expected, 1e-5, [2, 3, 3, 4]);
    const inorm = new nn.InstanceNorm2d(3, { affine: true });
    tf.tidy(() => {
      inorm.weight!.assign(spread([3], 0.5));
      inorm.bias!.assign(spread([3], 1.5));
    });
    const r = spread([2, 3, 3, 4], 0.7);
    checkGrads(() => tf.sum(tf.mul(inorm.forward(x), r)), [x, inorm.weight!, inorm.bias!]);
  });
});

describe("nn.InstanceNorm2d running statistics", () => {
  it("trackRunningStats: training moves them toward the batch mean of per-instance mean / unbiased var; eval uses them", () => {
    const inorm = new nn.InstanceNorm2d(2, { trackRunningStats: true, momentum: 0.2 });
    expect(Object.keys(inorm.stateDict())).toEqual(["running_mean", "running_var", "num_batches_tracked"]);
    expect(inorm.toString()).toBe("InstanceNorm2d(2, eps=1e-05, momentum=0.2, affine=False, track_running_stats=True)");
    const x = spread([3, 2, 2, 3], 0.3, 2);
    inorm.forward(x);
    const { mean, unbiased } = stats(vals(x), [3, 2, 6]);
    const avg = (v: number[], ch: number) => (v[ch] + v[2 + ch] + v[4 + ch]) / 3;
    const rm = [0, 1].map((ch) => 0.8 * 0 + 0.2 * avg(mean, ch));
    const rv = [0, 1].map((ch) => 0.8 * 1 + 0.2 * avg(unbiased, ch));
    expectClose(inorm.runningMean!, rm, 1e-5);
    expectClose(inorm.runningVar!, rv, 1e-5);
    inorm.eval();
    const y = inorm.forward(x);
    const expected = vals(x).map((v, i) => {
      const ch = Math.floor(i / 6) % 2;
      return (v - rm[ch]) / Math.sqrt(rv[ch] + 1e-5);
    });
    expectClose(y, expected, 1e-5);
    expectClose(inorm.runningMean!, rm, 1e-6);
  });

  it("without running stats, eval still normalises per instance; unbatched input works", () => {
    const inorm = new nn.InstanceNorm2d(2);
    inorm.eval();
    const x = spread([2, 3, 3], 0.1, 3);
    expectClose(inorm.forward(x), vals(F.instanceNorm(tf.expandDims(x, 0))), 1e-6, [2, 3, 3]);
    expect(() => inorm.forward(spread([2, 3]))).toThrow(/expected 3D or 4D input/);
  });
});
