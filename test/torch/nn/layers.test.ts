import { describe, it, expect, beforeAll } from "vitest";
import { tf, nn, F, manualSeed } from "lightning-ts/torch";
import { backendWith, checkGrads, expectClose, naiveConv2d, spread, vals } from "./helpers";

beforeAll(async () => {
  await backendWith(["Conv2DBackpropFilter", "UnsortedSegmentSum"]);
});

describe("nn.Linear", () => {
  it("weight [out, in], bias [out], forward x W^T + b", () => {
    const lin = new nn.Linear(3, 2);
    expect(lin.weight.shape).toEqual([2, 3]);
    expect(lin.bias!.shape).toEqual([2]);
    lin.weight.assign(
      tf.tensor2d([
        [1, 0, -1],
        [2, 1, 0],
      ]),
    );
    lin.bias!.assign(tf.tensor1d([0.5, -1]));
    expectClose(
      lin.forward(
        tf.tensor2d([
          [1, 2, 3],
          [0, -1, 2],
        ]),
      ),
      [-1.5, 3, -1.5, -2],
      1e-6,
      [2, 2],
    );
    expect([...lin.namedParameters()].map(([n]) => n)).toEqual(["weight", "bias"]);
    expect(lin.toString()).toBe("Linear(in_features=3, out_features=2, bias=True)");
  });

  it("bias: false registers no bias; wrong input explains the expected shape", () => {
    const lin = new nn.Linear(4, 2, { bias: false });
    expect(lin.bias).toBeNull();
    expect(lin.parameters()).toHaveLength(1);
    expect(() => lin.forward(tf.zeros([3, 5]))).toThrow(
      "Linear(in_features=4): expected input of shape [*, 4], got [3, 5]",
    );
  });

  it("backward fills weight.grad and bias.grad like tf.variableGrads", () => {
    manualSeed(0);
    const lin = new nn.Linear(5, 3);
    const x = spread([4, 5]);
    checkGrads(() => tf.sum(tf.square(lin.forward(x))), lin.parameters());
  });
});

describe("nn.Conv2d / nn.Conv1d", () => {
  it("weight [out, in/groups, kh, kw] and forward equal to the naive convolution", () => {
    manualSeed(1);
    const conv = new nn.Conv2d(4, 6, [3, 2], { stride: [2, 1], padding: 1, dilation: [1, 2], groups: 2 });
    expect(conv.weight.shape).toEqual([6, 2, 3, 2]);
    expect(conv.bias!.shape).toEqual([6]);
    const x = spread([2, 4, 7, 8]);
    const ref = naiveConv2d(vals(x), [2, 4, 7, 8], vals(conv.weight), [6, 2, 3, 2], vals(conv.bias!), {
      stride: [2, 1],
      pads: [1, 1, 1, 1],
      dilation: [1, 2],
      groups: 2,
    });
    expectClose(conv.forward(x), ref.out, 1e-5, ref.shape);
    expect(conv.toString()).toBe(
      "Conv2d(4, 6, kernel_size=(3, 2), stride=(2, 1), padding=(1, 1), dilation=(1, 2), groups=2)",
    );
  });

  it("paddingMode reflect / circular pad the input before a valid convolution", () => {
    manualSeed(2);
    const x = spread([1, 2, 5, 5]);
    for (const mode of ["reflect", "circular", "replicate"] as const) {
      const conv = new nn.Conv2d(2, 3, 3, { padding: 1, paddingMode: mode });
      const padded = F.pad(x, [1, 1, 1, 1], { mode });
      const ref = naiveConv2d(vals(padded), [1, 2, 7, 7], vals(conv.weight), [3, 2, 3, 3], vals(conv.bias!));
      expectClose(conv.forward(x), ref.out, 1e-5, [1, 3, 5, 5]);
    }
  });

  it("explains wrong input and invalid configurations", () => {
    const conv = new nn.Conv2d(3, 8, 3);
    expect(() => conv.forward(tf.zeros([2, 1, 28, 28]))).toThrow(
      "Conv2d(3, 8): expected input of shape [N, 3, H, W] (or unbatched [3, H, W]), got [2, 1, 28, 28]",
    );
    expect(() => new nn.Conv2d(3, 8, 3, { groups: 2 })).toThrow(/in_channels \(3\) must be divisible by groups \(2\)/);
    expect(() => new nn.Conv2d(4, 8, 3, { padding: "same", stride: 2 })).toThrow(
      /padding="same" is not supported for strided convolutions/,
    );
  });

  it("gradients through a Conv2d -> ReLU -> MaxPool -> Linear stack equal tf.variableGrads", () => {
    manualSeed(3);
    const conv = new nn.Conv2d(2, 3, 3, { padding: 1 });
    const pool = new nn.MaxPool2d(2);
    const fc = new nn.Linear(3 * 3 * 3, 4);
    const x = spread([2, 2, 6, 6]);
    const y = tf.tensor1d([1, 3], "int32");
    const params = [...conv.parameters(), ...fc.parameters()];
    checkGrads(() => F.crossEntropy(fc.forward(F.flatten(pool.forward(F.relu(conv.forward(x))), 1)), y), params);
  });

  it("Conv1d: weight [out, in/groups, k]; forward equals the naive reference", () => {
    manualSeed(4);
    const conv = new nn.Conv1d(2, 4, 3, { padding: "same", dilation: 2 });
    expect(conv.weight.shape).toEqual([4, 2, 3]);
    const x = spread([3, 2, 10]);
    const ref = naiveConv2d(vals(x), [3, 2, 1, 10], vals(conv.weight), [4, 2, 1, 3], vals(conv.bias!), {
      pads: [0, 0, 2, 2],
      dilation: [1, 2],
    });
    expectClose(conv.forward(x), ref.out, 1e-5, [3, 4, 10]);
  });
});

describe("pooling, flatten, identity layers", () => {
  it("MaxPool2d / AvgPool2d / AdaptiveAvgPool2d modules match F", () => {
    const x = spread([2, 3, 6, 6]);
    expectClose(new nn.MaxPool2d(2).forward(x), vals(F.maxPool2d(x, 2)), 0, [2, 3, 3, 3]);
    expectClose(
      new nn.MaxPool2d(3, { stride: 1, padding: 1 }).forward(x),
      vals(F.maxPool2d(x, 3, { stride: 1, padding: 1 })),
      0,
      [2, 3, 6, 6],
    );
    expectClose(new nn.AvgPool2d([2, 3]).forward(x), vals(F.avgPool2d(x, [2, 3])), 0, [2, 3, 3, 2]);
    expectClose(new nn.AdaptiveAvgPool2d(1).forward(x), vals(tf.mean(x, [2, 3])), 1e-6, [2, 3, 1, 1]);
    expect(new nn.MaxPool2d(2).parameters()).toHaveLength(0);
  });

  it("Flatten keeps the batch dim by default; Unflatten splits; Identity passes through", () => {
    const x = tf.zeros([2, 3, 4, 5]);
    expect(new nn.Flatten().forward(x).shape).toEqual([2, 60]);
    expect(new nn.Flatten({ startDim: 0, endDim: 1 }).forward(x).shape).toEqual([6, 4, 5]);
    expect(new nn.Flatten(2).forward(x).shape).toEqual([2, 3, 20]);
    expect(new nn.Unflatten(1, [2, 30]).forward(tf.zeros([2, 60])).shape).toEqual([2, 2, 30]);
    expect(new nn.Identity(54, { unused: true }).forward(x)).toBe(x);
  });
});

describe("activation modules", () => {
  it("equal their functional forms", () => {
    const x = spread([3, 4], 0, 3);
    const pairs: Array<[{ forward(x: tf.Tensor): tf.Tensor; parameters(): tf.Variable[] }, tf.Tensor]> = [
      [new nn.ReLU(), F.relu(x)],
      [new nn.ReLU(true), F.relu(x)],
      [new nn.ReLU6(), F.relu6(x)],
      [new nn.LeakyReLU(0.2), F.leakyRelu(x, 0.2)],
      [new nn.LeakyReLU(), F.leakyRelu(x, 0.01)],
      [new nn.ELU({ alpha: 0.5 }), F.elu(x, 0.5)],
      [new nn.SELU(), F.selu(x)],
      [new nn.GELU(), F.gelu(x)],
      [new nn.GELU({ approximate: "tanh" }), F.gelu(x, { approximate: "tanh" })],
      [new nn.SiLU(), F.silu(x)],
      [new nn.Sigmoid(), F.sigmoid(x)],
      [new nn.Tanh(), F.tanh(x)],
      [new nn.Softplus({ beta: 2 }), F.softplus(x, { beta: 2 })],
      [new nn.Softmax(0), F.softmax(x, 0)],
      [new nn.LogSoftmax(-1), F.logSoftmax(x, -1)],
    ];
    for (const [m, ref] of pairs) {
      expectClose(m.forward(x), vals(ref), 0, x.shape);
      expect(m.parameters()).toHaveLength(0);
    }
    expect(() => new (nn.Softmax as unknown as new () => nn.Softmax)()).toThrow(/pass the dimension/);
  });
});

describe("nn.LayerNorm", () => {
  it("weight ones, bias zeros over normalizedShape; forward equals F.layerNorm", () => {
    const ln = new nn.LayerNorm([3, 4]);
    expect(vals(ln.weight!)).toEqual(new Array(12).fill(1));
    expect(vals(ln.bias!)).toEqual(new Array(12).fill(0));
    const x = spread([2, 3, 4], 0, 2);
    expectClose(ln.forward(x), vals(F.layerNorm(x, [3, 4])), 1e-6, [2, 3, 4]);
    expect(new nn.LayerNorm(8, { elementwiseAffine: false }).parameters()).toHaveLength(0);
    expect(new nn.LayerNorm(8, { bias: false }).parameters()).toHaveLength(1);
    expect(() => ln.forward(tf.zeros([2, 4, 3]))).toThrow(
      "LayerNorm((3, 4)): expected input of shape [*, 3, 4], got [2, 4, 3]",
    );
    expect(ln.toString()).toBe("LayerNorm((3, 4), eps=1e-05, elementwise_affine=True)");
  });

  it("gradients equal tf.variableGrads", () => {
    const ln = new nn.LayerNorm(5);
    ln.weight!.assign(spread([5], 1));
    ln.bias!.assign(spread([5], 2));
    const x = spread([3, 5], 0, 2);
    checkGrads(() => tf.sum(tf.mul(ln.forward(x), spread([3, 5], 3))), ln.parameters());
  });
});

describe("nn.Embedding", () => {
  it("N(0, 1) table with the padding row zeroed; lookup by int32 ids", () => {
    manualSeed(5);
    const emb = new nn.Embedding(1000, 8, { paddingIdx: 0 });
    const w = vals(emb.weight);
    expect(w.slice(0, 8)).toEqual(new Array(8).fill(0));
    const rest = w.slice(8);
    const mean = rest.reduce((s, v) => s + v, 0) / rest.length;
    const std = Math.sqrt(rest.reduce((s, v) => s + (v - mean) ** 2, 0) / rest.length);
    expect(Math.abs(mean)).toBeLessThan(0.05);
    expect(std).toBeCloseTo(1, 1);
    const out = emb.forward(
      tf.tensor2d(
        [
          [3, 0],
          [999, 3],
        ],
        [2, 2],
        "int32",
      ),
    );
    expect(out.shape).toEqual([2, 2, 8]);
    expectClose(tf.slice(out, [0, 0, 0], [1, 1, 8]), w.slice(24, 32), 0);
    expect(new nn.Embedding(10, 3, { paddingIdx: -1 }).paddingIdx).toBe(9);
  });

  it("the padding row gets no gradient; others accumulate", () => {
    manualSeed(6);
    const emb = new nn.Embedding(5, 3, { paddingIdx: 2 });
    const ids = tf.tensor1d([2, 1, 2, 4, 1], "int32");
    const [g] = checkGrads(() => tf.sum(emb.forward(ids)), [emb.weight]);
    expectClose(g, [0, 0, 0, 2, 2, 2, 0, 0, 0, 0, 0, 0, 1, 1, 1]);
  });

  it("fromPretrained uses the given table, frozen by default", () => {
    manualSeed(7);
    const before = vals(new nn.Linear(2, 2).weight);
    manualSeed(7);
    const e = nn.Embedding.fromPretrained(
      tf.tensor2d([
        [1, 2],
        [3, 4],
      ]),
    );
    expect(vals(new nn.Linear(2, 2).weight)).toEqual(before); // no init draws consumed
    expect(vals(e.weight)).toEqual([1, 2, 3, 4]);
    expect(e.weight.trainable).toBe(false);
    expect(nn.Embedding.fromPretrained(tf.tensor2d([[1, 2]]), { freeze: false }).weight.trainable).toBe(true);
  });
});

describe("nn.Dropout", () => {
  it("drops in training mode, is the identity in eval mode", () => {
    manualSeed(8);
    const d = new nn.Dropout(0.5);
    const x = tf.ones([50, 40]);
    const train = vals(d.forward(x));
    expect(train.filter((v) => v === 0).length).toBeGreaterThan(800);
    expect(new Set(train)).toEqual(new Set([0, 2]));
    d.eval();
    expectClose(d.forward(x), vals(x), 0);
    expect(new nn.Dropout({ p: 0.25 }).p).toBe(0.25);
    expect(() => new nn.Dropout(2)).toThrow(/dropout probability has to be between 0 and 1, but got 2/);
    expect(new nn.Dropout().toString()).toBe("Dropout(p=0.5, inplace=False)");
  });

  it("p = 0 and p = 1 edge cases", () => {
    const x = spread([4, 4]);
    expectClose(new nn.Dropout(0).forward(x), vals(x), 0);
    expectClose(new nn.Dropout(1).forward(x), new Array(16).fill(0), 0);
  });
});
