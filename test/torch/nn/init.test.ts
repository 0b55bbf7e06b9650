import { describe, it, expect } from "vitest";
import { tf, nn, manualSeed, Generator } from "lightning-ts/torch";
import { streams } from "../../../src/torch/random";
import { vals } from "./helpers";

const stats = (v: number[]) => {
  const mean = v.reduce((s, x) => s + x, 0) / v.length;
  const variance = v.reduce((s, x) => s + (x - mean) ** 2, 0) / v.length;
  return { mean, std: Math.sqrt(variance), min: Math.min(...v), max: Math.max(...v) };
};
const zerosVar = (shape: number[]) => tf.variable(tf.zeros(shape));

describe("fans and gains", () => {
  it("_calculateFanInAndFanOut: dims 1 and 0 times the receptive field", () => {
    expect(nn.init._calculateFanInAndFanOut(tf.zeros([10, 784]))).toEqual([784, 10]);
    expect(nn.init._calculateFanInAndFanOut(tf.zeros([32, 16, 3, 5]))).toEqual([16 * 15, 32 * 15]);
    expect(nn.init._calculateFanInAndFanOut([8, 4, 7])).toEqual([28, 56]);
    expect(() => nn.init._calculateFanInAndFanOut(tf.zeros([5]))).toThrow(/fewer than 2 dimensions/);
  });

  it("calculateGain follows PyTorch's table", () => {
    expect(nn.init.calculateGain("linear")).toBe(1);
    expect(nn.init.calculateGain("conv2d")).toBe(1);
    expect(nn.init.calculateGain("sigmoid")).toBe(1);
    expect(nn.init.calculateGain("tanh")).toBeCloseTo(5 / 3, 12);
    expect(nn.init.calculateGain("relu")).toBeCloseTo(Math.SQRT2, 12);
    expect(nn.init.calculateGain("leaky_relu")).toBeCloseTo(Math.sqrt(2 / (1 + 0.01 ** 2)), 12);
    expect(nn.init.calculateGain("leaky_relu", Math.sqrt(5))).toBeCloseTo(Math.sqrt(1 / 3), 12);
    expect(nn.init.calculateGain("selu")).toBe(0.75);
    expect(() => nn.init.calculateGain("swish" as "relu")).toThrow(/unsupported nonlinearity/);
  });
});

describe("initialisers", () => {
  it("kaimingUniform_ with a = sqrt(5) is U(-1/sqrt(fan_in), 1/sqrt(fan_in))", () => {
    manualSeed(1);
    const w = nn.init.kaimingUniform_(zerosVar([200, 100]), { a: Math.sqrt(5) });
    const s = stats(vals(w));
    expect(s.min).toBeGreaterThanOrEqual(-0.1);
    expect(s.max).toBeLessThan(0.1);
    expect(s.max).toBeGreaterThan(0.099);
    expect(s.min).toBeLessThan(-0.099);
    expect(Math.abs(s.mean)).toBeLessThan(0.002);
    expect(s.std).toBeCloseTo(0.1 / Math.sqrt(3), 3);
  });

  it("kaimingUniform_ / kaimingNormal_ defaults: leaky_relu(0) gain sqrt 2, fan_in or fan_out", () => {
    manualSeed(2);
    const fanIn = 50;
    const bound = Math.sqrt(6 / fanIn);
    const u = stats(vals(nn.init.kaimingUniform_(zerosVar([400, 50]))));
    expect(u.max).toBeLessThan(bound);
    expect(u.max).toBeGreaterThan(0.99 * bound);
    const fo = stats(vals(nn.init.kaimingUniform_(zerosVar([40, 500]), { mode: "fan_out", nonlinearity: "relu" })));
    expect(fo.max).toBeLessThan(Math.sqrt(6 / 40));
    expect(fo.max).toBeGreaterThan(0.99 * Math.sqrt(6 / 40));
    const n = stats(vals(nn.init.kaimingNormal_(zerosVar([200, 8, 3, 3]))));
    expect(n.std / Math.sqrt(2 / 72)).toBeCloseTo(1, 1);
    expect(Math.abs(n.mean)).toBeLessThan(0.01);
  });

  it("xavier: bound gain * sqrt(6 / (fan_in + fan_out)), std gain * sqrt(2 / (fan_in + fan_out))", () => {
    manualSeed(3);
    const u = stats(vals(nn.init.xavierUniform_(zerosVar([300, 100]), { gain: 2 })));
    const bound = 2 * Math.sqrt(6 / 400);
    expect(u.max).toBeLessThan(bound);
    expect(u.max).toBeGreaterThan(0.99 * bound);
    const n = stats(vals(nn.init.xavierNormal_(zerosVar([300, 100]))));
    expect(n.std / Math.sqrt(2 / 400)).toBeCloseTo(1, 1);
  });

  it("uniform_, normal_, truncNormal_, constant_, zeros_, ones_, eye_", () => {
    manualSeed(4);
    const u = stats(vals(nn.init.uniform_(zerosVar([5000]), -3, -1)));
    expect(u.min).toBeGreaterThanOrEqual(-3);
    expect(u.max).toBeLessThan(-1);
    expect(u.mean).toBeCloseTo(-2, 1);
    const u2 = stats(vals(nn.init.uniform_(zerosVar([5000]), { a: 2, b: 4 })));
    expect(u2.min).toBeGreaterThanOrEqual(2);
    const n = stats(vals(nn.init.normal_(zerosVar([20000]), 5, 0.5)));
    expect(n.mean).toBeCloseTo(5, 1);
    expect(n.std).toBeCloseTo(0.5, 1);
    const t = stats(vals(nn.init.truncNormal_(zerosVar([5000]), { std: 1, a: -0.5, b: 1 })));
    expect(t.min).toBeGreaterThanOrEqual(-0.5);
    expect(t.max).toBeLessThanOrEqual(1);
    expect(vals(nn.init.constant_(zerosVar([3]), 2.5))).toEqual([2.5, 2.5, 2.5]);
    expect(vals(nn.init.ones_(zerosVar([2])))).toEqual([1, 1]);
    expect(vals(nn.init.zeros_(tf.variable(tf.ones([2]))))).toEqual([0, 0]);
    expect(vals(nn.init.eye_(zerosVar([2, 3])))).toEqual([1, 0, 0, 0, 1, 0]);
    expect(() => nn.init.zeros_(tf.ones([2]))).toThrow(/expected a tf.Variable/);
  });

  it("fills in place: the variable object keeps its identity", () => {
    const v = zerosVar([4]);
    expect(nn.init.ones_(v)).toBe(v);
  });
});

describe("reproducibility of initialisation", () => {
  const build = () => new nn.Sequential(new nn.Linear(20, 30), new nn.Conv2d(3, 4, 3), new nn.Embedding(10, 5));
  const snapshot = (m: nn.Module) => m.parameters().map(vals);

  it("manualSeed gives identical parameters; another seed different ones", () => {
    manualSeed(123);
    const a = snapshot(build());
    manualSeed(123);
    expect(snapshot(build())).toEqual(a);
    manualSeed(124);
    expect(snapshot(build())[0]).not.toEqual(a[0]);
  });

  it("is independent of the data and random-op streams", () => {
    manualSeed(9);
    const a = snapshot(build());
    manualSeed(9);
    for (let i = 0; i < 1000; i++) streams.data.random(); // shuffles, splits
    tf.dropout(tf.ones([100]), 0.5); // tfjs random op
    for (let i = 0; i < 10; i++) streams.ops.nextUint32(); // dropout seeds
    expect(snapshot(build())).toEqual(a);
  });

  it("an explicit generator replaces the init stream", () => {
    const a = vals(nn.init.normal_(zerosVar([10]), { generator: new Generator(42) }));
    const b = vals(nn.init.normal_(zerosVar([10]), { generator: new Generator(42) }));
    expect(a).toEqual(b);
  });

  it("Linear and Conv2d use PyTorch's defaults: weight and bias within 1/sqrt(fan_in)", () => {
    manualSeed(5);
    const lin = new nn.Linear(64, 500);
    for (const p of [lin.weight, lin.bias!]) {
      const s = stats(vals(p));
      expect(s.max).toBeLessThan(1 / 8);
      expect(s.min).toBeGreaterThanOrEqual(-1 / 8);
    }
    expect(stats(vals(lin.weight)).max).toBeGreaterThan(0.124);
    const conv = new nn.Conv2d(4, 64, [3, 2], { groups: 2 }); // fan_in = 2 * 3 * 2 = 12
    const s = stats(vals(conv.weight));
    expect(s.max).toBeLessThan(1 / Math.sqrt(12));
    expect(s.max).toBeGreaterThan(0.98 / Math.sqrt(12));
    expect(stats(vals(conv.bias!)).max).toBeLessThan(1 / Math.sqrt(12));
  });
});
