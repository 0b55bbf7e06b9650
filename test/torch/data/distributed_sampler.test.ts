import { afterEach, describe, expect, it } from "vitest";
import { data, Generator } from "../../../src/torch/index";

const sized = (n: number) => ({ length: n });
const shares = (n: number, opts: data.DistributedSamplerOptions & { numReplicas: number }) =>
  Array.from({ length: opts.numReplicas }, (_, rank) => [...new data.DistributedSampler(sized(n), { ...opts, rank })]);

describe("DistributedSampler", () => {
  const saved = { WORLD_SIZE: process.env.WORLD_SIZE, RANK: process.env.RANK };
  afterEach(() => {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  });

  it("matches torch's algorithm on small cases worked out by hand", () => {
    // n=10, 4 replicas: numSamples ceil(10/4)=3, totalSize 12, padded [0..9, 0, 1], strided by rank.
    expect(shares(10, { numReplicas: 4, shuffle: false })).toEqual([
      [0, 4, 8],
      [1, 5, 9],
      [2, 6, 0],
      [3, 7, 1],
    ]);
    // dropLast: numSamples ceil((10-4)/4)=2, totalSize 8, truncated to [0..7].
    expect(shares(10, { numReplicas: 4, shuffle: false, dropLast: true })).toEqual([
      [0, 4],
      [1, 5],
      [2, 6],
      [3, 7],
    ]);
    // Padding longer than the data: n=2, 7 replicas: [0,1] + ([0,1]*3)[:5] = [0,1,0,1,0,1,0].
    expect(shares(2, { numReplicas: 7, shuffle: false })).toEqual([[0], [1], [0], [1], [0], [1], [0]]);
    // Even split: no padding.
    expect(shares(6, { numReplicas: 3, shuffle: false })).toEqual([
      [0, 3],
      [1, 4],
      [2, 5],
    ]);
  });

  it("with shuffle, strides the permutation seeded by seed + epoch", () => {
    const s = new data.DistributedSampler(sized(10), { numReplicas: 4, rank: 2, seed: 5 });
    s.setEpoch(3);
    const perm = new Generator(8).randperm(10);
    const padded = [...perm, perm[0], perm[1]];
    expect([...s]).toEqual([padded[2], padded[6], padded[10]]);
  });

  it("partitions: equal sizes, the union covers the dataset, overlaps only through padding", () => {
    for (const [n, r] of [
      [103, 4],
      [100, 4],
      [7, 3],
      [1, 2],
    ]) {
      const parts = shares(n, { numReplicas: r, seed: 1 });
      const per = Math.ceil(n / r);
      expect(parts.every((p) => p.length === per)).toBe(true);
      const all = parts.flat();
      expect(new Set(all).size).toBe(n);
      expect(all.length - n).toBe(per * r - n); // duplicates = padding
      for (const p of parts) expect(new data.DistributedSampler(sized(n), { numReplicas: r, rank: 0 }).length).toBe(p.length);
    }
    // dropLast: disjoint, equal, n - n % r items in all.
    const dropped = shares(103, { numReplicas: 4, dropLast: true, seed: 2 });
    expect(dropped.every((p) => p.length === 25)).toBe(true);
    expect(new Set(dropped.flat()).size).toBe(100);
  });

  it("setEpoch changes the order; the same epoch repeats it; all ranks agree on it", () => {
    const a = new data.DistributedSampler(sized(50), { numReplicas: 2, rank: 0 });
    const e0 = [...a];
    expect([...a]).toEqual(e0);
    a.setEpoch(1);
    const e1 = [...a];
    expect(e1).not.toEqual(e0);
    const b = new data.DistributedSampler(sized(50), { numReplicas: 2, rank: 1 });
    b.setEpoch(1);
    expect(new Set([...e1, ...b]).size).toBe(50);
  });

  it("defaults numReplicas and rank from WORLD_SIZE and RANK, and validates them", () => {
    process.env.WORLD_SIZE = "3";
    process.env.RANK = "2";
    const s = new data.DistributedSampler(sized(9), { shuffle: false });
    expect([s.numReplicas, s.rank]).toEqual([3, 2]);
    expect([...s]).toEqual([2, 5, 8]);
    delete process.env.WORLD_SIZE;
    delete process.env.RANK;
    const single = new data.DistributedSampler(sized(4), { shuffle: false });
    expect([single.numReplicas, single.rank, [...single]]).toEqual([1, 0, [0, 1, 2, 3]]);
    expect(() => new data.DistributedSampler(sized(4), { numReplicas: 2, rank: 2 })).toThrow(
      /invalid rank 2, rank should be in the interval \[0, 1\]/,
    );
    process.env.RANK = "x";
    expect(() => new data.DistributedSampler(sized(4))).toThrow(/RANK=x is not an integer/);
  });
});

describe("RandomSampler and BatchSampler", () => {
  it("numSamples beyond n yields whole permutations then a prefix", () => {
    const s = new data.RandomSampler(sized(4), { numSamples: 10, generator: 3 });
    const g = new Generator(3);
    expect([...s]).toEqual([...g.randperm(4), ...g.randperm(4), ...g.randperm(4).slice(0, 2)]);
    const r = [...new data.RandomSampler(sized(3), { replacement: true, numSamples: 50, generator: 1 })];
    expect(r.length).toBe(50);
    expect(r.every((i) => i >= 0 && i < 3)).toBe(true);
    expect(new Set(r).size).toBe(3);
  });

  it("BatchSampler groups indices", () => {
    const b = new data.BatchSampler(new data.SequentialSampler(sized(5)), 2, false);
    expect([...b]).toEqual([[0, 1], [2, 3], [4]]);
    expect(b.length).toBe(3);
    expect([...new data.BatchSampler(new data.SequentialSampler(sized(5)), 2, true)]).toEqual([[0, 1], [2, 3]]);
  });
});
