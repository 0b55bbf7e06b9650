import { describe, it, expect, beforeAll } from "vitest";
import { MisconfigurationError, isWrapped, unwrap } from "lightning-ts";
import { withDistributedSampler } from "../../../src/runtime/lite/distributed_sampler";
import { tf, data, manualSeed } from "lightning-ts/torch";
import { usePureJsCpu, TestLite } from "../helpers";
import { collectGarbage } from "../../../src/torch/autograd/lifetime";

function dataset(n = 10): data.TensorDataset {
  const x = tf.keep(tf.tensor2d(Array.from({ length: n * 2 }, (_, i) => i), [n, 2]));
  const y = tf.keep(tf.tensor1d(Array.from({ length: n }, (_, i) => i % 3), "int32"));
  return new data.TensorDataset(x, y);
}

/** Every batch of one epoch as plain numbers. */
function epoch(loader: Iterable<tf.Tensor[]>): number[][][] {
  const out: number[][][] = [];
  for (const b of loader) out.push(b.map((t) => Array.from(t.dataSync())));
  return out;
}

describe("LightningLite.setupDataloaders", () => {
  beforeAll(usePureJsCpu);

  it("one loader in, the same loader type out, yielding the same batches in the same order", () => {
    const lite = new TestLite();
    const ds = dataset();
    const plain = new data.DataLoader(ds, { batchSize: 4, shuffle: true, generator: 11 });
    const wrapped: typeof plain = lite.setupDataloaders(
      new data.DataLoader(ds, { batchSize: 4, shuffle: true, generator: 11 }),
    );
    expect(isWrapped(wrapped)).toBe(true);
    expect(wrapped).toBeInstanceOf(data.DataLoader);
    expect(wrapped.length).toBe(3);
    expect(wrapped.batchSize).toBe(4);
    // Two epochs: the shuffle order advances per epoch exactly as without Lite.
    expect(epoch(wrapped)).toEqual(epoch(plain));
    expect(epoch(wrapped)).toEqual(epoch(plain));
  });

  it("several loaders in, a typed tuple out; options may follow", () => {
    const lite = new TestLite();
    const a = new data.DataLoader(dataset(), { batchSize: 5 });
    const b = new data.DataLoader(dataset(6), { batchSize: 2 });
    const [wa, wb]: [typeof a, typeof b] = lite.setupDataloaders(a, b);
    expect(unwrap(wa)).toBe(a);
    expect(unwrap(wb)).toBe(b);
    const [wc, wd] = lite.setupDataloaders(new data.DataLoader(dataset()), new data.DataLoader(dataset()), {
      moveToDevice: false,
    });
    expect(isWrapped(wc) && isWrapped(wd)).toBe(true);
    const single = lite.setupDataloaders(new data.DataLoader(dataset()), { useDistributedSampler: false });
    expect(epoch(single)).toHaveLength(10);
  });

  it("supports for-await, and keeps the loader's per-batch memory scoping (flat tensor count, early break)", async () => {
    const lite = new TestLite();
    const loader = lite.setupDataloaders(new data.DataLoader(dataset(), { batchSize: 2 }));
    let seen = 0;
    for await (const [x] of loader) {
      expect(x.shape).toEqual([2, 2]);
      seen++;
    }
    expect(seen).toBe(5);
    // Issue 8: temporaries are freed by the collector once unreferenced, not at batch end.
    collectGarbage();
    const before = tf.memory().numTensors;
    const epochs = () => {
      for (let e = 0; e < 3; e++) {
        for (const [x, y] of loader) {
          x.add(1).mul(y.cast("float32").expandDims(1)); // temporaries, disposed with the step
          if (e === 2) break; // an early exit closes the open step too
        }
      }
      collectGarbage();
      return tf.memory().numTensors;
    };
    const afterThree = epochs();
    const afterSix = epochs();
    // Flat: three more epochs hold no more than the first three did. What stays is at most one
    // batch (x, y) and its 4 temporaries that the test's frame may still reach (how many V8 keeps
    // reachable there depends on how far it has optimised the frame: one more under load).
    expect(afterSix).toBeLessThanOrEqual(afterThree);
    expect(afterThree).toBeLessThanOrEqual(before + 7);
  });

  it("refuses non-loaders and loaders set up twice", () => {
    const lite = new TestLite();
    const l = lite.setupDataloaders(new data.DataLoader(dataset()));
    expect(() => lite.setupDataloaders(l)).toThrow(MisconfigurationError);
    expect(() => lite.setupDataloaders(l)).toThrow("setupDataloaders(): dataloader #1 is already set up");
    expect(() => lite.setupDataloaders([1, 2] as never)).toThrow("argument #1 must be a data.DataLoader, got [1, 2]");
    expect(() => (lite.setupDataloaders as (...a: unknown[]) => unknown)()).toThrow("pass at least one DataLoader");
  });

  it("the single-device strategy inserts no DistributedSampler", () => {
    const lite = new TestLite();
    const loader = new data.DataLoader(dataset(), { batchSize: 3, shuffle: true });
    expect(lite.strategy.distributedSamplerSettings()).toBeNull();
    expect(unwrap(lite.setupDataloaders(loader)).sampler).toBe(loader.sampler);
  });

  it("advances a DistributedSampler's epoch on each iteration, as Fabric does", () => {
    const lite = new TestLite();
    const ds = dataset(8);
    const sampler = new data.DistributedSampler(ds, { numReplicas: 1, rank: 0, seed: 5 });
    const loader = lite.setupDataloaders(new data.DataLoader(ds, { batchSize: 8, sampler }));
    const orders: number[][] = [];
    for (let e = 0; e < 3; e++) {
      for (const [, y] of loader) orders.push(Array.from(y.dataSync()));
      expect(sampler.epoch).toBe(e);
    }
    // Each epoch's order is the sampler's permutation for that epoch.
    for (let e = 0; e < 3; e++) {
      const expected = new data.DistributedSampler(ds, { numReplicas: 1, rank: 0, seed: 5 });
      expected.setEpoch(e);
      expect(orders[e]).toEqual(expected.indices().map((i) => i % 3));
    }
  });
});

describe("DistributedSampler insertion (used by multi-process strategies)", () => {
  beforeAll(usePureJsCpu);

  it("rebuilds the loader with this rank's share, keeping batch size, dropLast and shuffle", () => {
    manualSeed(0);
    process.env.PL_GLOBAL_SEED = "9";
    const ds = dataset(10);
    const loader = new data.DataLoader(ds, { batchSize: 2, shuffle: true, dropLast: true });
    const split = withDistributedSampler(loader, { numReplicas: 2, rank: 1 });
    expect(split).not.toBe(loader);
    expect(split.sampler).toBeInstanceOf(data.DistributedSampler);
    const s = split.sampler as data.DistributedSampler;
    expect([s.numReplicas, s.rank, s.shuffle, s.seed]).toEqual([2, 1, true, 9]);
    expect(split.batchSize).toBe(2);
    expect(split.dropLast).toBe(true);
    expect(split.length).toBe(2); // 5 samples for this rank, batches of 2, last dropped
    const sequential = withDistributedSampler(new data.DataLoader(ds, { batchSize: 5 }), { numReplicas: 2, rank: 0 });
    expect((sequential.sampler as data.DistributedSampler).shuffle).toBe(false);
    expect(epoch(sequential)[0][1]).toEqual([0, 2, 1, 0, 2]); // labels of indices 0, 2, 4, 6, 8
    delete process.env.PL_GLOBAL_SEED;
  });

  it("keeps a DistributedSampler the user set, and refuses samplers it cannot split", () => {
    const ds = dataset(6);
    const own = new data.DataLoader(ds, { sampler: new data.DistributedSampler(ds, { numReplicas: 2, rank: 0 }) });
    expect(withDistributedSampler(own, { numReplicas: 2, rank: 0 })).toBe(own);
    const custom = new data.DataLoader(ds, { sampler: new data.SubsetRandomSampler([0, 1, 2]) });
    expect(() => withDistributedSampler(custom, { numReplicas: 2, rank: 0 })).toThrow(
      /custom sampler \(SubsetRandomSampler\), which cannot be split across processes automatically/,
    );
    const batched = new data.DataLoader(ds, { batchSampler: [[0, 1], [2, 3]] as unknown as Iterable<number[]> & { length: number } });
    expect(() => withDistributedSampler(batched, { numReplicas: 2, rank: 0 })).toThrow(/custom batchSampler/);
  });
});
