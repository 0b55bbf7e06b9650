import { describe, it, expect, beforeAll, afterEach, vi } from "vitest";
import { LightningLite, seedEverything } from "lightning-ts";
import { tf, F, data } from "lightning-ts/torch";
import { usePureJsCpu, Net, TestLite } from "../helpers";

/** Everything seeded: initial weights, a shuffled order, a dropout mask. */
function draw(): { weights: number[]; order: number[]; mask: number[] } {
  const weights = Array.from(new Net().fc1.weight.dataSync());
  const ds = new data.TensorDataset(tf.range(0, 10));
  const loader = new data.DataLoader(ds, { batchSize: 10, shuffle: true });
  const first = loader[Symbol.iterator]().next().value as tf.Tensor[];
  const order = Array.from(first[0].dataSync());
  const mask = Array.from(F.dropout(tf.ones([16]), { p: 0.5, training: true }).dataSync());
  return { weights, order, mask };
}

describe("seedEverything", () => {
  beforeAll(usePureJsCpu);
  afterEach(() => {
    delete process.env.PL_GLOBAL_SEED;
    vi.restoreAllMocks();
  });

  it("makes initialisation, data order and random ops reproducible, and returns the seed", () => {
    const lite = new TestLite();
    expect(lite.seedEverything(123)).toBe(123);
    const a = draw();
    expect(lite.seedEverything(123)).toBe(123);
    const b = draw();
    expect(b).toEqual(a);
    LightningLite.seedEverything(124);
    expect(draw()).not.toEqual(a);
  });

  it("sets PL_GLOBAL_SEED, and reads it when no seed is given", () => {
    seedEverything(77);
    expect(process.env.PL_GLOBAL_SEED).toBe("77");
    const a = draw();
    process.env.PL_GLOBAL_SEED = "77";
    expect(seedEverything()).toBe(77);
    expect(draw()).toEqual(a);
  });

  it("with neither a seed nor PL_GLOBAL_SEED, seeds 0 and says so", () => {
    const warn = vi.spyOn(process.stderr, "write").mockImplementation(() => true);
    expect(seedEverything()).toBe(0);
    expect(String(warn.mock.calls[0][0])).toContain("no seed given and PL_GLOBAL_SEED is not set; seed set to 0");
    expect(process.env.PL_GLOBAL_SEED).toBe("0");
  });

  it("refuses seeds outside 0..2^32-1 and non-integers", () => {
    for (const bad of [-1, 2 ** 32, 1.5, NaN]) {
      expect(() => seedEverything(bad)).toThrow(`seedEverything(): seed ${bad} is not an integer in 0..4294967295`);
    }
    process.env.PL_GLOBAL_SEED = "abc";
    expect(() => seedEverything()).toThrow("seedEverything(): PL_GLOBAL_SEED='abc' is not an integer");
  });
});
