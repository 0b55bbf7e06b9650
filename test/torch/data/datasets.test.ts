import { describe, expect, it } from "vitest";
import { tf, data, manualSeed, Generator } from "../../../src/torch/index";

function labels(ds: data.Dataset<[tf.Tensor, tf.Tensor]>): number[] {
  return Array.from({ length: ds.length }, (_, i) => ds.get(i)[1].dataSync()[0]);
}

describe("TensorDataset", () => {
  it("items are tuples of row slices", () => {
    const x = tf.tensor3d(Array.from({ length: 24 }, (_, i) => i), [4, 3, 2]);
    const y = tf.tensor1d([7, 8, 9, 10], "int32");
    const ds = new data.TensorDataset(x, y);
    expect(ds.length).toBe(4);
    const [xi, yi] = ds.get(2);
    expect(xi.shape).toEqual([3, 2]);
    expect(xi.arraySync()).toEqual([[12, 13], [14, 15], [16, 17]]);
    expect(yi.shape).toEqual([]);
    expect(yi.dtype).toBe("int32");
    expect(yi.dataSync()[0]).toBe(9);
    const [bx, by] = ds.getBatch([3, 0]);
    expect(bx.shape).toEqual([2, 3, 2]);
    expect(Array.from(by.dataSync())).toEqual([10, 7]);
  });

  it("checks sizes and indices", () => {
    expect(() => new data.TensorDataset(tf.zeros([3, 2]), tf.zeros([4]))).toThrow(
      /tensor 0 has 3 rows, tensor 1 has 4/,
    );
    expect(() => new data.TensorDataset()).toThrow(/at least one tensor/);
    const ds = new data.TensorDataset(tf.zeros([3]));
    expect(() => ds.get(3)).toThrow(/index 3 out of range for a dataset of length 3/);
    expect(() => ds.getBatch([0, -1])).toThrow(/index -1 out of range/);
  });

  it("keeps its tensors alive through a tf.tidy it was built in", () => {
    let ds!: data.TensorDataset;
    tf.tidy(() => {
      ds = new data.TensorDataset(tf.ones([2, 2]).mul(3));
    });
    expect(ds.tensors[0].isDisposed).toBe(false);
    expect(ds.get(1)[0].arraySync()).toEqual([3, 3]);
  });
});

describe("Subset and ConcatDataset", () => {
  const base = new data.TensorDataset(tf.zeros([10, 1]), tf.range(0, 10, 1, "int32"));

  it("Subset maps indices, with the batched path when the base has one", () => {
    const sub = new data.Subset(base, [9, 2, 5]);
    expect(sub.length).toBe(3);
    expect(labels(sub)).toEqual([9, 2, 5]);
    expect(data.hasGetBatch(sub)).toBe(true);
    const [, y] = sub.getBatch!([2, 0]) as [tf.Tensor, tf.Tensor];
    expect(Array.from(y.dataSync())).toEqual([5, 9]);
    expect(() => new data.Subset(base, [10])).toThrow(/Subset: index 10 out of range/);
    class Plain extends data.Dataset<number> {
      length = 3;
      get(i: number) {
        return i;
      }
    }
    expect(data.hasGetBatch(new data.Subset(new Plain(), [0]))).toBe(false);
  });

  it("ConcatDataset chains datasets", () => {
    const a = new data.Subset(base, [0, 1, 2]);
    const b = new data.Subset(base, []);
    const c = new data.Subset(base, [7, 8]);
    const cat = new data.ConcatDataset([a, b, c]);
    expect(cat.length).toBe(5);
    expect(cat.cumulativeSizes).toEqual([3, 3, 5]);
    expect(labels(cat)).toEqual([0, 1, 2, 7, 8]);
    expect(() => cat.get(5)).toThrow(/out of range/);
  });
});

describe("randomSplit", () => {
  const ds = new data.TensorDataset(tf.zeros([10, 1]), tf.range(0, 10, 1, "int32"));

  it("splits counts into disjoint subsets covering the dataset", () => {
    manualSeed(0);
    const parts = data.randomSplit(ds, [3, 7]);
    expect(parts.map((p) => p.length)).toEqual([3, 7]);
    const all = parts.flatMap((p) => [...p.indices]);
    expect([...all].sort((a, b) => a - b)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(labels(parts[0])).toEqual([...parts[0].indices]);
  });

  it("is one permutation cut into consecutive slices (torch's algorithm)", () => {
    const parts = data.randomSplit(ds, [2, 3, 5], 42);
    const perm = new Generator(42).randperm(10);
    expect(parts.map((p) => [...p.indices])).toEqual([perm.slice(0, 2), perm.slice(2, 5), perm.slice(5)]);
  });

  it("fractions are floored and the remainder dealt round-robin, as in torch", () => {
    // Computed by hand with torch's rule: floor(n * f) each, then +1 from the first split on.
    const sizes = (n: number, f: number[]) =>
      data.randomSplit(new data.TensorDataset(tf.zeros([n])), f, 0).map((p) => p.length);
    expect(sizes(10, [0.3, 0.3, 0.4])).toEqual([3, 3, 4]);
    expect(sizes(11, [0.5, 0.5])).toEqual([6, 5]);
    expect(sizes(10, [0.33, 0.33, 0.34])).toEqual([4, 3, 3]);
    expect(sizes(7, [0.1, 0.2, 0.7])).toEqual([1, 2, 4]);
    expect(sizes(5, [0.8, 0.2])).toEqual([4, 1]);
  });

  it("is reproducible with manualSeed and rejects bad lengths", () => {
    manualSeed(7);
    const a = data.randomSplit(ds, [0.5, 0.5]).map((p) => [...p.indices]);
    manualSeed(7);
    const b = data.randomSplit(ds, [0.5, 0.5]).map((p) => [...p.indices]);
    expect(a).toEqual(b);
    manualSeed(8);
    expect(data.randomSplit(ds, [0.5, 0.5]).map((p) => [...p.indices])).not.toEqual(a);
    expect(() => data.randomSplit(ds, [3, 3])).toThrow(/sum of input lengths \(6\) does not equal the length of the input dataset \(10\)/);
    expect(() => data.randomSplit(ds, [1.5, -0.5])).toThrow(/fraction at index 0 is not between 0 and 1/);
  });
});

describe("SyntheticClassification", () => {
  it("is deterministic, balanced and shaped as documented", () => {
    const a = new data.SyntheticClassification({ numSamples: 100, numFeatures: 5, numClasses: 4, seed: 3 });
    const b = new data.SyntheticClassification({ numSamples: 100, numFeatures: 5, numClasses: 4, seed: 3 });
    const c = new data.SyntheticClassification({ numSamples: 100, numFeatures: 5, numClasses: 4, seed: 4 });
    expect(a.tensors[0].arraySync()).toEqual(b.tensors[0].arraySync());
    expect(a.tensors[0].arraySync()).not.toEqual(c.tensors[0].arraySync());
    const [x, y] = a.get(6);
    expect(x.shape).toEqual([5]);
    expect(x.dtype).toBe("float32");
    expect(y.shape).toEqual([]);
    expect(y.dtype).toBe("int32");
    const counts = new Array(4).fill(0);
    for (const v of a.tensors[1].dataSync()) counts[v]++;
    expect(counts).toEqual([25, 25, 25, 25]);
  });

  it("does not draw from the data stream", () => {
    manualSeed(1);
    const before = data.randomSplit(new data.TensorDataset(tf.zeros([20])), [10, 10])[0].indices;
    manualSeed(1);
    new data.SyntheticClassification({ numSamples: 10, numFeatures: 2, numClasses: 2 });
    const after = data.randomSplit(new data.TensorDataset(tf.zeros([20])), [10, 10])[0].indices;
    expect(after).toEqual(before);
  });

  it("is learnable: a nearest-centroid classifier fitted on a train split is accurate on held-out data", () => {
    const ds = new data.SyntheticClassification({ numSamples: 2000, numFeatures: 20, numClasses: 10, seed: 0 });
    const x = ds.tensors[0].arraySync() as number[][];
    const y = Array.from(ds.tensors[1].dataSync());
    const fit = Array.from({ length: 10 }, () => new Array(20).fill(0));
    const n = new Array(10).fill(0);
    for (let i = 0; i < 1500; i++) {
      n[y[i]]++;
      x[i].forEach((v, f) => (fit[y[i]][f] += v));
    }
    fit.forEach((c, k) => c.forEach((_, f) => (c[f] /= n[k])));
    let correct = 0;
    for (let i = 1500; i < 2000; i++) {
      const d = fit.map((c) => c.reduce((s, v, f) => s + (v - x[i][f]) ** 2, 0));
      if (d.indexOf(Math.min(...d)) === y[i]) correct++;
    }
    expect(correct / 500).toBeGreaterThan(0.95);
  });

  it("rejects bad options", () => {
    expect(() => new data.SyntheticClassification({ numSamples: 0, numFeatures: 2, numClasses: 2 })).toThrow(
      /numSamples must be a positive integer, got 0/,
    );
  });
});

describe("host batching (CPU backends)", () => {
  it("HostMirror.gather equals tf.gather for every dtype and row size", async () => {
    const { HostMirror } = await import("../../../src/torch/data/host_batch");
    const n = 9;
    const idx = [8, 0, 3, 3, 5];
    const cases: tf.Tensor[] = [
      tf.randomNormal([n], 0, 1, "float32", 1),
      tf.randomNormal([n, 3, 7], 0, 1, "float32", 2), // rows of 21 >= 16: the TypedArray.set path
      tf.randomUniform([n, 2], -100, 100, "int32", 3),
      tf.randomUniform([n, 4, 5], 0, 2, "int32", 4).cast("bool"),
    ];
    for (const t of cases) {
      const got = new HostMirror(t).gather(idx);
      const want = tf.gather(t, tf.tensor1d(idx, "int32"));
      expect(got.dtype).toBe(want.dtype);
      expect(got.shape).toEqual(want.shape);
      expect(Array.from(got.dataSync())).toEqual(Array.from(want.dataSync()));
    }
  });

  it("follows a variable's new value after assign", () => {
    const v = tf.variable(tf.tensor2d([[1], [2], [3]]), false);
    const ds = new data.TensorDataset(v);
    expect(Array.from(ds.getBatch([2, 0])[0].dataSync())).toEqual([3, 1]);
    v.assign(tf.tensor2d([[10], [20], [30]]));
    expect(Array.from(ds.getBatch([2, 0])[0].dataSync())).toEqual([30, 10]);
  });
});
