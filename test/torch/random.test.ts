import { describe, it, expect } from "vitest";
import { manualSeed, Generator } from "lightning-ts/torch";
import { streams, nextOpSeed, getRngState, setRngState } from "../../src/torch/random";

describe("random streams", () => {
  it("manualSeed makes every stream reproducible", () => {
    manualSeed(42);
    const a = [streams.init.random(), streams.data.random(), nextOpSeed()];
    manualSeed(42);
    const b = [streams.init.random(), streams.data.random(), nextOpSeed()];
    expect(a).toEqual(b);
    manualSeed(43);
    expect(streams.init.random()).not.toBe(a[0]);
  });

  it("keeps streams independent: drawing data numbers does not shift initialisation", () => {
    manualSeed(7);
    const initOnly = [streams.init.random(), streams.init.random()];
    manualSeed(7);
    for (let i = 0; i < 100; i++) streams.data.random();
    nextOpSeed();
    expect([streams.init.random(), streams.init.random()]).toEqual(initOnly);
  });

  it("draws uniform numbers in [0,1) with the right mean and normals with unit variance", () => {
    const g = new Generator(123);
    let sum = 0;
    let sq = 0;
    const n = 20000;
    for (let i = 0; i < n; i++) {
      const u = g.random();
      expect(u).toBeGreaterThanOrEqual(0);
      expect(u).toBeLessThan(1);
      sum += u;
      const z = g.normal();
      sq += z * z;
    }
    expect(sum / n).toBeCloseTo(0.5, 1);
    expect(sq / n).toBeCloseTo(1, 1);
  });

  it("randperm is a permutation and state round-trips", () => {
    const g = new Generator(5);
    const p = g.randperm(50);
    expect([...p].sort((a, b) => a - b)).toEqual(Array.from({ length: 50 }, (_, i) => i));
    manualSeed(9);
    const saved = getRngState();
    const first = streams.data.randperm(10);
    setRngState(saved);
    expect(streams.data.randperm(10)).toEqual(first);
  });
});

describe("random tensor constructors", () => {
  it("randn/rand/randint are reproducible under manualSeed and differ call to call", async () => {
    const { randn, rand, randint } = await import("lightning-ts/torch");
    manualSeed(3);
    const a = [randn([4]).arraySync(), rand([4]).arraySync(), randint(0, 5, [6]).arraySync()];
    const again = randn([4]).arraySync();
    manualSeed(3);
    const b = [randn([4]).arraySync(), rand([4]).arraySync(), randint(0, 5, [6]).arraySync()];
    expect(b).toEqual(a);
    expect(again).not.toEqual(a[0]);
    for (const v of a[2] as number[]) {
      expect(Number.isInteger(v)).toBe(true);
      expect(v).toBeGreaterThanOrEqual(0);
      expect(v).toBeLessThan(5);
    }
    for (const v of a[1] as number[]) expect(v >= 0 && v < 1).toBe(true);
  });
});
