import { describe, it, expect } from "vitest";
import { LightningEnvironment, MisconfigurationError } from "lightning-ts";

describe("LightningEnvironment", () => {
  it("is a single process when no launcher variable is set", () => {
    const env = new LightningEnvironment({});
    expect([env.globalRank(), env.localRank(), env.nodeRank(), env.worldSize()]).toEqual([0, 0, 0, 1]);
    expect(env.createsProcessesExternally).toBe(false);
  });

  it("reads torchrun's variables", () => {
    const env = new LightningEnvironment({ RANK: "3", LOCAL_RANK: "1", WORLD_SIZE: "4", GROUP_RANK: "1" });
    expect([env.globalRank(), env.localRank(), env.nodeRank(), env.worldSize()]).toEqual([3, 1, 1, 4]);
    expect(env.createsProcessesExternally).toBe(true);
    expect(new LightningEnvironment({ NODE_RANK: "2", GROUP_RANK: "1", WORLD_SIZE: "8", RANK: "5" }).nodeRank()).toBe(2);
  });

  it("reads process.env by default", () => {
    const saved = { ...process.env };
    try {
      process.env.RANK = "1";
      process.env.WORLD_SIZE = "2";
      process.env.LOCAL_RANK = "1";
      const env = new LightningEnvironment();
      expect([env.globalRank(), env.worldSize(), env.localRank()]).toEqual([1, 2, 1]);
    } finally {
      for (const k of ["RANK", "WORLD_SIZE", "LOCAL_RANK"]) {
        if (saved[k] === undefined) delete process.env[k];
        else process.env[k] = saved[k];
      }
    }
  });

  it("refuses malformed and inconsistent values, naming them", () => {
    expect(() => new LightningEnvironment({ RANK: "x" })).toThrow(MisconfigurationError);
    expect(() => new LightningEnvironment({ RANK: "x" })).toThrow("environment variable RANK='x' is not an integer >= 0");
    expect(() => new LightningEnvironment({ WORLD_SIZE: "0" })).toThrow("WORLD_SIZE='0' is not an integer >= 1");
    expect(() => new LightningEnvironment({ LOCAL_RANK: "-1" })).toThrow("LOCAL_RANK='-1' is not an integer >= 0");
    expect(() => new LightningEnvironment({ RANK: "2", WORLD_SIZE: "2" })).toThrow("RANK=2 is not below WORLD_SIZE=2");
  });
});
