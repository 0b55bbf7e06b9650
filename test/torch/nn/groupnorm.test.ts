import { describe, it, expect, afterAll } from "vitest";
import { tf, nn, F } from "lightning-ts/torch";
import { checkGrads, expectClose, spread, spreadVar, vals } from "./helpers";

/** Group norm of [N, C, M] (flattened spatial) by its definition, in double. */
function naiveGroupNorm(x: number[], [n, c, m]: number[], g: number, w: number[], b: number[], eps: number) {
  const out = new Array(x.length).fill(0);
  const cpg = c / g;
  for (let ni = 0; ni < n; ni++)
    for (let gi = 0; gi < g; gi++) {
      const idx: number[] = [];
      for (let ci = gi * cpg; ci < (gi + 1) * cpg; ci++) for (let k = 0; k < m; k++) idx.push((ni * c + ci) * m + k);
      const mean = idx.reduce((s, i) => s + x[i], 0) / idx.length;
      const v = idx.reduce((s, i) => s + (x[i] - mean) ** 2, 0) / idx.length;
      for (const i of idx) {
        const ci = Math.floor(i / m) % c;
        out[i] = ((x[i] - mean) / Math.sqrt(v + eps)) * w[ci] + b[ci];
      }
    }
  return out;
}

describe.each(["wasm", "cpu"])("nn.GroupNorm / F.groupNorm on %s", (backend) => {
  const previous = tf.getBackend();
  afterAll(async () => {
    await tf.setBackend(previous);
  });

  it("normalises each group over its channels and positions (biased variance), then the affine", async () => {
    await tf.setBackend(backend);
    const x = spread([2, 6, 3, 2], 0, 3);
    const w = spread([6], 1);
    const b = spread([6], 2);
    const y = F.groupNorm(x, 3, { weight: w, bias: b, eps: 1e-5 });
    expectClose(y, naiveGroupNorm(vals(x), [2, 6, 6], 3, vals(w), vals(b), 1e-5), 1e-5, [2, 6, 3, 2]);
  });

  it("the layer trains: gradients of input, weight and bias equal tf.variableGrads", async () => {
    await tf.setBackend(backend);
    const gn = new nn.GroupNorm(2, 4);
    tf.tidy(() => {
      gn.weight!.assign(spread([4], 0.5));
      gn.bias!.assign(spread([4], 1.5));
    });
    const x = spreadVar([3, 4, 5], 0.2, 2);
    const r = spread([3, 4, 5], 0.9);
    checkGrads(() => tf.sum(tf.mul(gn.forward(x), r)), [x, gn.weight!, gn.bias!]);
  });
});

describe("nn.GroupNorm", () => {
  it("has PyTorch's defaults, init (weight ones, bias zeros), keys and repr", () => {
    const gn = new nn.GroupNorm(2, 4);
    expectClose(gn.weight!, [1, 1, 1, 1], 0);
    expectClose(gn.bias!, [0, 0, 0, 0], 0);
    expect(Object.keys(gn.stateDict())).toEqual(["weight", "bias"]);
    expect(gn.toString()).toBe("GroupNorm(2, 4, eps=1e-05, affine=True)");
    const plain = new nn.GroupNorm(1, 3, { affine: false });
    expect(plain.parameters()).toHaveLength(0);
    // One group over [C, H, W] is layer norm over those dims.
    const x = spread([2, 3, 2, 2], 0, 4);
    expectClose(plain.forward(x), vals(F.layerNorm(x, [3, 2, 2])), 1e-5);
  });

  it("rejects channels not divisible by the groups, and wrong input channels", () => {
    expect(() => new nn.GroupNorm(3, 4)).toThrow(/numChannels \(4\) must be divisible by numGroups \(3\)/);
    expect(() => new nn.GroupNorm(2, 4).forward(spread([2, 6, 3]))).toThrow(/expected input of shape \[N, 4, \*\]/);
  });
});
