import { describe, it, expect } from "vitest";
import { tf, nn, F, manualSeed } from "lightning-ts/torch";
import { checkGrads, expectClose, spread, vals } from "./helpers";

const names = (m: nn.Module) => [...m.namedParameters()].map(([n]) => n);

describe("nn.Sequential", () => {
  it("chains forward and names children 0, 1, … like PyTorch", () => {
    manualSeed(0);
    const seq = new nn.Sequential(new nn.Linear(4, 8), new nn.ReLU(), new nn.Linear(8, 2));
    expect(names(seq)).toEqual(["0.weight", "0.bias", "2.weight", "2.bias"]);
    expect(Object.keys(seq.stateDict())).toEqual(["0.weight", "0.bias", "2.weight", "2.bias"]);
    const x = spread([3, 4]);
    const l0 = seq.get<nn.Linear>(0);
    const l2 = seq.get<nn.Linear>(2);
    expectClose(seq.forward(x), vals(l2.forward(F.relu(l0.forward(x)))), 1e-6, [3, 2]);
    expect(seq.length).toBe(3);
    expect(seq.get(-1)).toBe(l2);
    expect(seq[0]).toBe(l0);
    expect([...seq]).toEqual([l0, seq.get(1), l2]);
    expect(() => seq.get(3)).toThrow(/index 3 is out of range \(length 3\)/);
  });

  it("inside a model: fc1.weight, features.0.weight, nested 0.1.weight", () => {
    class Net extends nn.Module {
      fc1 = new nn.Linear(2, 3);
      features = new nn.Sequential(new nn.Linear(3, 3), new nn.Sequential(new nn.Tanh(), new nn.Linear(3, 1)));
      override forward(x: tf.Tensor): tf.Tensor {
        return this.features.forward(this.fc1.forward(x));
      }
    }
    const net = new Net();
    expect(names(net)).toEqual([
      "fc1.weight",
      "fc1.bias",
      "features.0.weight",
      "features.0.bias",
      "features.1.1.weight",
      "features.1.1.bias",
    ]);
    expect(net.toString()).toContain(
      "(features): Sequential(\n    (0): Linear(in_features=3, out_features=3, bias=True)",
    );
    checkGrads(() => tf.sum(net.forward(spread([5, 2]))), net.parameters());
  });

  it("named children (PyTorch's OrderedDict form), append, slice", () => {
    const seq = new nn.Sequential({ conv: new nn.Conv2d(1, 2, 3), act: new nn.ReLU(), flat: new nn.Flatten() });
    expect(names(seq)).toEqual(["conv.weight", "conv.bias"]);
    expect(seq.get(0)).toBe((seq as unknown as { conv: nn.Module }).conv);
    seq.append(new nn.Linear(8, 1));
    expect(names(seq)).toEqual(["conv.weight", "conv.bias", "3.weight", "3.bias"]);
    expect(seq.forward(tf.zeros([2, 1, 4, 4])).shape).toEqual([2, 1]);
    const tail = new nn.Sequential(new nn.Linear(2, 2), new nn.Linear(2, 3), new nn.Linear(3, 1)).slice(1);
    expect(names(tail)).toEqual(["1.weight", "1.bias", "2.weight", "2.bias"]);
    expect(() => new nn.Sequential(new nn.ReLU(), 5 as unknown as nn.Module)).toThrow(
      /argument 1: expected an nn.Module, got number/,
    );
  });

  it("train() / eval() reach the children", () => {
    const seq = new nn.Sequential(new nn.Dropout(0.5), new nn.Sequential(new nn.Dropout(0.5)));
    seq.eval();
    expect(seq.modules().every((m) => !m.training)).toBe(true);
    expectClose(seq.forward(tf.ones([4])), [1, 1, 1, 1], 0);
    seq.train();
    expect(seq.get<nn.Sequential>(1).get(0).training).toBe(true);
  });
});

describe("nn.ModuleList", () => {
  it("registers its modules as layers.0, layers.1, … and iterates", () => {
    class Net extends nn.Module {
      layers = new nn.ModuleList([new nn.Linear(3, 3), new nn.Linear(3, 2)]);
      head = new nn.Linear(2, 1);
      override forward(x: tf.Tensor): tf.Tensor {
        for (const layer of this.layers) x = F.tanh(layer.forward(x));
        return this.head.forward(x);
      }
    }
    const net = new Net();
    expect(names(net)).toEqual([
      "layers.0.weight",
      "layers.0.bias",
      "layers.1.weight",
      "layers.1.bias",
      "head.weight",
      "head.bias",
    ]);
    expect(Object.keys(net.stateDict())).toContain("layers.1.bias");
    checkGrads(() => tf.sum(net.forward(spread([4, 3]))), net.parameters());
    expect(() => net.layers.forward(tf.zeros([1]))).toThrow(/ModuleList has no forward/);
  });

  it("append, extend, insert, set, get, length", () => {
    const a = new nn.Linear(1, 1);
    const b = new nn.Linear(1, 2);
    const c = new nn.Linear(1, 3);
    const d = new nn.Linear(1, 4);
    const list = new nn.ModuleList<nn.Linear>();
    expect(list.length).toBe(0);
    list.append(a).extend([b, c]);
    list.insert(1, d);
    expect([...list]).toEqual([a, d, b, c]);
    expect(list.get(-1)).toBe(c);
    expect(list[1]).toBe(d);
    list.set(0, c);
    expect(list.get(0)).toBe(c);
    // The shared module's parameters appear once, under the first name.
    expect(names(list)).toEqual(["0.weight", "0.bias", "1.weight", "1.bias", "2.weight", "2.bias"]);
    expect(list.length).toBe(4);
  });

  it("plain arrays of modules are walked the same way", () => {
    class Net extends nn.Module {
      blocks = [new nn.Linear(2, 2), new nn.Linear(2, 2)];
    }
    expect(names(new Net())).toEqual(["blocks.0.weight", "blocks.0.bias", "blocks.1.weight", "blocks.1.bias"]);
  });
});

describe("nn.ModuleDict", () => {
  it("holds modules by key and names parameters key.weight", () => {
    const md = new nn.ModuleDict<nn.Module>({ encoder: new nn.Linear(2, 3), decoder: new nn.Linear(3, 2) });
    expect(names(md)).toEqual(["encoder.weight", "encoder.bias", "decoder.weight", "decoder.bias"]);
    expect(md.keys()).toEqual(["encoder", "decoder"]);
    expect((md.get("decoder") as nn.Linear).forward(tf.zeros([1, 3])).shape).toEqual([1, 2]);
    md.set("extra", new nn.Linear(1, 1));
    expect(md.has("extra")).toBe(true);
    md.pop("extra");
    expect(md.length).toBe(2);
    expect([...md]).toEqual(["encoder", "decoder"]);
    expect(() => md.set("forward", new nn.ReLU())).toThrow(/would shadow a Module member/);
    expect(() => md.get("nope")).toThrow(/no module named 'nope'/);
  });
});

describe("state dicts and nn.Parameter", () => {
  it("loadStateDict round-trips a Sequential with BatchNorm buffers", () => {
    manualSeed(1);
    const a = new nn.Sequential(new nn.Linear(3, 4), new nn.BatchNorm1d(4), new nn.Linear(4, 2));
    a.forward(spread([5, 3])); // moves the running stats
    manualSeed(2);
    const b = new nn.Sequential(new nn.Linear(3, 4), new nn.BatchNorm1d(4), new nn.Linear(4, 2));
    b.loadStateDict(a.stateDict());
    for (const [k, v] of Object.entries(a.stateDict())) expect(vals(b.stateDict()[k])).toEqual(vals(v));
    expect(Object.keys(a.stateDict()).sort()).toEqual(
      [
        "0.weight",
        "0.bias",
        "1.weight",
        "1.bias",
        "1.running_mean",
        "1.running_var",
        "1.num_batches_tracked",
        "2.weight",
        "2.bias",
      ].sort(),
    );
  });

  it("nn.Parameter makes a trainable variable, with or without new", () => {
    class Scale extends nn.Module {
      alpha = new nn.Parameter(tf.tensor1d([2]));
      frozen = nn.Parameter(tf.tensor1d([1]), false);
      override forward(x: tf.Tensor): tf.Tensor {
        return tf.mul(x, this.alpha);
      }
    }
    const m = new Scale();
    expect(m.alpha).toBeInstanceOf(tf.Variable);
    expect(m.alpha instanceof nn.Parameter).toBe(true);
    expect(m.alpha.trainable).toBe(true);
    expect(m.frozen.trainable).toBe(false);
    expect(names(m)).toEqual(["alpha", "frozen"]);
    const [g] = checkGrads(() => tf.sum(m.forward(tf.tensor1d([1, 2, 3]))), [m.alpha]);
    expectClose(g, [6]);
    expect(() => nn.Parameter(tf.tensor1d([1], "int32"))).toThrow(/only float32 tensors can require gradients/);
  });
});
