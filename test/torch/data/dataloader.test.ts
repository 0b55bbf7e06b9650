import { setCollectionPolicy } from "../../../src/torch/autograd/lifetime";
import { describe, expect, it } from "vitest";
import { tf, data, manualSeed, Generator } from "../../../src/torch/index";

/** A dataset whose item i is [tensor [i, 10i], label i] plus extras, built per item (no getBatch). */
class Items extends data.Dataset<[tf.Tensor, number]> {
  constructor(readonly length: number) {
    super();
  }
  get(i: number): [tf.Tensor, number] {
    return [tf.tensor1d([i, 10 * i]), i];
  }
}

function rangeDataset(n: number) {
  return new data.TensorDataset(tf.range(0, n, 1, "int32").reshape([n, 1]), tf.range(0, n, 1, "int32"));
}

/** The label column of every batch, as plain numbers (read inside the step). */
function order(loader: Iterable<[tf.Tensor, tf.Tensor]>): number[][] {
  const out: number[][] = [];
  for (const [, y] of loader) out.push(Array.from(y.dataSync()));
  return out;
}

describe("DataLoader order", () => {
  it("visits items in order without shuffle, with a partial last batch", () => {
    const loader = new data.DataLoader(rangeDataset(10), { batchSize: 4 });
    expect(loader.length).toBe(3);
    expect(order(loader)).toEqual([
      [0, 1, 2, 3],
      [4, 5, 6, 7],
      [8, 9],
    ]);
  });

  it("dropLast drops the partial batch and counts it out of length", () => {
    const loader = new data.DataLoader(rangeDataset(10), { batchSize: 4, dropLast: true });
    expect(loader.length).toBe(2);
    expect(order(loader)).toEqual([
      [0, 1, 2, 3],
      [4, 5, 6, 7],
    ]);
    const exact = new data.DataLoader(rangeDataset(8), { batchSize: 4, dropLast: true });
    expect(exact.length).toBe(2);
  });

  it("batchSize defaults to 1 and batches keep the row shape", () => {
    const loader = new data.DataLoader(rangeDataset(3));
    expect(loader.length).toBe(3);
    const shapes: number[][] = [];
    for (const [x, y] of loader) {
      shapes.push(x.shape, y.shape);
      expect(x.dtype).toBe("int32");
    }
    expect(shapes).toEqual([[1, 1], [1], [1, 1], [1], [1, 1], [1]]);
  });

  it("shuffle gives a permutation per epoch, different across epochs", () => {
    manualSeed(0);
    const loader = new data.DataLoader(rangeDataset(50), { batchSize: 7, shuffle: true });
    const e1 = order(loader).flat();
    const e2 = order(loader).flat();
    expect([...e1].sort((a, b) => a - b)).toEqual(Array.from({ length: 50 }, (_, i) => i));
    expect([...e2].sort((a, b) => a - b)).toEqual(Array.from({ length: 50 }, (_, i) => i));
    expect(e1).not.toEqual(e2);
    expect(e1).not.toEqual(Array.from({ length: 50 }, (_, i) => i));
  });

  it("is reproducible under manualSeed, and different seeds differ", () => {
    const run = (seed: number) => {
      manualSeed(seed);
      const loader = new data.DataLoader(rangeDataset(40), { batchSize: 8, shuffle: true });
      return [order(loader).flat(), order(loader).flat()];
    };
    expect(run(123)).toEqual(run(123));
    expect(run(123)[0]).not.toEqual(run(124)[0]);
  });

  it("a numeric generator seed fixes the order regardless of the global seed", () => {
    manualSeed(1);
    const a = order(new data.DataLoader(rangeDataset(30), { batchSize: 5, shuffle: true, generator: 7 })).flat();
    manualSeed(2);
    const b = order(new data.DataLoader(rangeDataset(30), { batchSize: 5, shuffle: true, generator: 7 })).flat();
    expect(a).toEqual(b);
    // The order is exactly the generator's randperm: one permutation per epoch.
    expect(a).toEqual(new Generator(7).randperm(30));
    const c = order(new data.DataLoader(rangeDataset(30), { batchSize: 5, shuffle: true, generator: 8 })).flat();
    expect(c).not.toEqual(a);
  });

  it("iterating another loader first never changes the training order", () => {
    const trainOrder = (sanityPass: boolean) => {
      manualSeed(99);
      const train = new data.DataLoader(rangeDataset(40), { batchSize: 8, shuffle: true });
      const val = new data.DataLoader(rangeDataset(20), { batchSize: 8, shuffle: true });
      if (sanityPass) {
        order(val);
        order(val);
      }
      return [order(train).flat(), order(train).flat()];
    };
    expect(trainOrder(true)).toEqual(trainOrder(false));
  });

  it("a loader without shuffle draws nothing from the data stream", () => {
    const firstShuffle = (extraSequential: number) => {
      manualSeed(5);
      for (let i = 0; i < extraSequential; i++) order(new data.DataLoader(rangeDataset(10), { batchSize: 3 }));
      return order(new data.DataLoader(rangeDataset(20), { batchSize: 20, shuffle: true }))[0];
    };
    expect(firstShuffle(3)).toEqual(firstShuffle(0));
  });

  it("accepts a sampler and a batchSampler, and rejects conflicting options", () => {
    const ds = rangeDataset(10);
    const reversed = { length: 10, *[Symbol.iterator]() { for (let i = 9; i >= 0; i--) yield i; } };
    expect(order(new data.DataLoader(ds, { batchSize: 4, sampler: reversed }))).toEqual([
      [9, 8, 7, 6],
      [5, 4, 3, 2],
      [1, 0],
    ]);
    const batches = { length: 2, *[Symbol.iterator]() { yield [3, 1]; yield [0, 2, 4]; } };
    const bl = new data.DataLoader(ds, { batchSampler: batches });
    expect(bl.length).toBe(2);
    expect(order(bl)).toEqual([[3, 1], [0, 2, 4]]);
    expect(() => new data.DataLoader(ds, { sampler: reversed, shuffle: true })).toThrow(/mutually exclusive with shuffle/);
    expect(() => new data.DataLoader(ds, { batchSampler: batches, batchSize: 2 })).toThrow(/mutually exclusive/);
    expect(() => new data.DataLoader(ds, { batchSize: 0 })).toThrow(/positive integer/);
  });

  it("exposes what the runtime needs to rebuild it (DDP sampler insertion)", () => {
    const ds = rangeDataset(10);
    const shuffled = new data.DataLoader(ds, { batchSize: 4, shuffle: true, dropLast: true });
    expect(shuffled.dataset).toBe(ds);
    expect(shuffled.batchSize).toBe(4);
    expect(shuffled.dropLast).toBe(true);
    expect(shuffled.shuffle).toBe(true);
    expect(shuffled.sampler).toBeInstanceOf(data.RandomSampler);
    expect(new data.DataLoader(ds).shuffle).toBe(false);
    const ddp = new data.DataLoader(ds, {
      batchSize: 2,
      sampler: new data.DistributedSampler(ds, { numReplicas: 2, rank: 1, shuffle: false }),
    });
    expect(order(ddp)).toEqual([[1, 3], [5, 7], [9]]);
  });
});

describe("DataLoader async iteration", () => {
  it("for await yields the same batches as for of", async () => {
    manualSeed(3);
    const loader = new data.DataLoader(rangeDataset(23), { batchSize: 5, shuffle: true, generator: 11 });
    const sync = order(loader);
    const again = new data.DataLoader(rangeDataset(23), { batchSize: 5, shuffle: true, generator: 11 });
    const seen: number[][] = [];
    for await (const [, y] of again) {
      await new Promise((r) => setTimeout(r, 0)); // the body may await between batches
      seen.push(Array.from(y.dataSync()));
    }
    expect(seen).toEqual(sync);
    expect(seen.map((b) => b.length)).toEqual([5, 5, 5, 5, 3]);
  });
});

describe("default collate", () => {
  it("stacks tensors and turns integer numbers into an int32 tensor", () => {
    const loader = new data.DataLoader(new Items(5), { batchSize: 3 });
    const batches: Array<{ x: number[][]; y: number[]; dtype: string; shape: number[] }> = [];
    for (const [x, y] of loader) {
      batches.push({ x: x.arraySync() as number[][], y: Array.from(y.dataSync()), dtype: y.dtype, shape: y.shape });
    }
    expect(batches).toEqual([
      { x: [[0, 0], [1, 10], [2, 20]], y: [0, 1, 2], dtype: "int32", shape: [3] },
      { x: [[3, 30], [4, 40]], y: [3, 4], dtype: "int32", shape: [2] },
    ]);
  });

  it("collates objects and nested tuples field-wise, floats to float32, booleans to bool", () => {
    type Item = { a: number; b: [boolean, string, Float32Array]; c: { d: tf.Tensor } };
    const items: Item[] = [
      { a: 1.5, b: [true, "p", new Float32Array([1, 2])], c: { d: tf.scalar(1) } },
      { a: 2, b: [false, "q", new Float32Array([3, 4])], c: { d: tf.scalar(2) } },
    ];
    const batch = data.defaultCollate(items);
    expect(batch.a.dtype).toBe("float32");
    expect(Array.from(batch.a.dataSync())).toEqual([1.5, 2]);
    expect(batch.b[0].dtype).toBe("bool");
    expect(Array.from(batch.b[0].dataSync())).toEqual([1, 0]);
    expect(batch.b[1]).toEqual(["p", "q"]);
    expect(batch.b[2].shape).toEqual([2, 2]);
    expect(batch.b[2].arraySync()).toEqual([[1, 2], [3, 4]]);
    expect(batch.c.d.shape).toEqual([2]);
    expect(Array.from(batch.c.d.dataSync())).toEqual([1, 2]);
  });

  it("names the item and path when items do not match", () => {
    expect(() => data.defaultCollate([tf.zeros([2]), tf.zeros([3])])).toThrow(/item 0 is a float32 tensor of shape \[2\], item 1 is a float32 tensor of shape \[3\]/);
    expect(() => data.defaultCollate([{ x: 1 }, { x: "a" }])).toThrow(/item 0 at x is a number but item 1 is a string/);
    expect(() => data.defaultCollate([null])).toThrow(/cannot collate null/);
  });

  it("a custom collateFn gets the items and its result is the batch", () => {
    const loader = new data.DataLoader(new Items(4), {
      batchSize: 2,
      collateFn: (items) => items.map(([, label]) => label * 100),
    });
    const out: number[][] = [];
    for (const b of loader) out.push(b);
    expect(out).toEqual([[0, 100], [200, 300]]);
  });

  it("the gather fast path gives exactly the per-item collate result", () => {
    const x = tf.randomNormal([17, 3, 2], 0, 1, "float32", 1);
    const y = tf.tensor1d(Array.from({ length: 17 }, (_, i) => (i * 7) % 5), "int32");
    const ds = new data.TensorDataset(x, y);
    const fast = new data.DataLoader(ds, { batchSize: 5, generator: 4, shuffle: true });
    const slow = new data.DataLoader(ds, {
      batchSize: 5,
      generator: 4,
      shuffle: true,
      collateFn: (items) => data.defaultCollate(items),
    });
    const a: unknown[] = [];
    const b: unknown[] = [];
    for (const [bx, by] of fast) a.push([bx.arraySync(), by.arraySync(), bx.dtype, by.dtype]);
    for (const [bx, by] of slow) b.push([bx.arraySync(), by.arraySync(), bx.dtype, by.dtype]);
    expect(a).toEqual(b);
    expect(a.length).toBe(4);
  });

  it("a fast-path batch is two tensors, not per-item slices", () => {
    const ds = new data.TensorDataset(tf.zeros([256, 8]), tf.zeros([256], "int32"));
    const loader = new data.DataLoader(ds, { batchSize: 64 });
    // Issue 8: earlier batches are freed by the collector, not at batch end, so count what one
    // fetch adds with collections held off.
    const prev = setCollectionPolicy({ stepTensors: Infinity, stepBytes: Infinity, hardTensors: Infinity, hardBytes: Infinity });
    try {
      let last = tf.memory().numTensors;
      for (const [x] of loader) {
        expect(x.shape).toEqual([64, 8]);
        expect(tf.memory().numTensors - last).toBe(2);
        last = tf.memory().numTensors;
      }
    } finally {
      setCollectionPolicy(prev);
    }
  });
});
