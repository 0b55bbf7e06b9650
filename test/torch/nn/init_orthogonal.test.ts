import { describe, it, expect } from "vitest";
import { tf, nn, manualSeed, Generator } from "lightning-ts/torch";

const zerosVar = (shape: number[]) => tf.variable(tf.zeros(shape));
const vals = (t: tf.Tensor) => Array.from(t.dataSync());

/** W W^T (rows <= cols) or W^T W (rows > cols) of the [rows, numel / rows] view. */
function gram(w: tf.Tensor): number[][] {
  const rows = w.shape[0];
  const m = w.reshape([rows, -1]);
  const g = rows <= m.shape[1]! ? tf.matMul(m, m, false, true) : tf.matMul(m, m, true, false);
  return g.arraySync() as number[][];
}

describe("nn.init.orthogonal_", () => {
  // Expected values: numpy.linalg.qr (LAPACK) on the same N(0, 1) draws, Q's columns times
  // sign(diag(R)), as torch.nn.init.orthogonal_ does, then times the gain.
  it("matches LAPACK QR with PyTorch's sign fix for a wide matrix (rows < cols)", () => {
    const w = nn.init.orthogonal_(zerosVar([3, 5]), { generator: new Generator(7) });
    const expected = [
      0.6273124, -0.5854696, -0.1786526, -0.4550081, -0.157338, -0.3034595, -0.393538, 0.5668725, 0.090459,
      -0.6507787, -0.1239598, -0.0929747, -0.7545676, 0.4130032, -0.4858455,
    ];
    vals(w).forEach((v, i) => expect(v).toBeCloseTo(expected[i], 5));
  });

  it("matches LAPACK QR for a tall conv weight [4, 2, 1, 1] with gain sqrt(2)", () => {
    const w = nn.init.orthogonal_(zerosVar([4, 2, 1, 1]), { gain: Math.SQRT2, generator: new Generator(11) });
    expect(w.shape).toEqual([4, 2, 1, 1]);
    const expected = [1.099821, -0.3095002, -0.0865726, 1.2645443, 0.4600911, 0.4488342, 0.7557878, 0.322002];
    vals(w).forEach((v, i) => expect(v).toBeCloseTo(expected[i], 5));
  });

  it("rows are orthonormal times the gain for a conv weight (positional gain, as in PyTorch)", () => {
    manualSeed(3);
    const gain = nn.init.calculateGain("relu");
    const w = nn.init.orthogonal_(zerosVar([16, 8, 3, 3]), gain); // 16 x 72: W W^T = gain^2 I
    const g = gram(w);
    for (let i = 0; i < 16; i++) {
      for (let j = 0; j < 16; j++) expect(g[i][j]).toBeCloseTo(i === j ? gain * gain : 0, 4);
    }
  });

  it("columns are orthonormal for a tall matrix", () => {
    manualSeed(4);
    const g = gram(nn.init.orthogonal_(zerosVar([20, 6])));
    for (let i = 0; i < 6; i++) {
      for (let j = 0; j < 6; j++) expect(g[i][j]).toBeCloseTo(i === j ? 1 : 0, 5);
    }
  });

  it("draws from the init stream: reproducible under manualSeed", () => {
    manualSeed(5);
    const a = vals(nn.init.orthogonal_(zerosVar([4, 4])));
    manualSeed(5);
    const b = vals(nn.init.orthogonal_(zerosVar([4, 4])));
    expect(a).toEqual(b);
  });

  it("rejects 1-D tensors and plain tensors", () => {
    expect(() => nn.init.orthogonal_(zerosVar([5]))).toThrow(/2 or more dimensions/);
    expect(() => nn.init.orthogonal_(tf.zeros([2, 2]))).toThrow(/tf.Variable/);
  });
});
