import { afterEach, describe, expect, it, vi } from "vitest";

import { dummyExperiment, infoEnabled, rankFromEnv, rankZeroInfo, rankZeroOnly, rankZeroWarn } from "../../../src/runtime/utilities/rank_zero";

afterEach(() => {
  rankZeroOnly.rank = undefined;
  vi.unstubAllEnvs();
  vi.restoreAllMocks();
});

describe("rank detection", () => {
  it("reads RANK, then LOCAL_RANK, then SLURM_PROCID, then JSM_NAMESPACE_RANK; 0 when none is set", () => {
    expect(rankFromEnv({})).toBe(0);
    expect(rankFromEnv({ SLURM_PROCID: "5" })).toBe(5);
    expect(rankFromEnv({ LOCAL_RANK: "2", SLURM_PROCID: "5" })).toBe(2);
    expect(rankFromEnv({ RANK: "3", LOCAL_RANK: "1" })).toBe(3);
    expect(rankFromEnv({ JSM_NAMESPACE_RANK: "4" })).toBe(4);
    expect(rankFromEnv({ RANK: "0", LOCAL_RANK: "1" })).toBe(0);
    expect(() => rankFromEnv({ RANK: "one" })).toThrow(/RANK="one"/);
  });

  it("follows the environment until a rank is injected, and back when it is cleared", () => {
    vi.stubEnv("RANK", "1");
    expect(rankZeroOnly.rank).toBe(1);
    expect(rankZeroOnly.isRankZero).toBe(false);
    rankZeroOnly.rank = 0;
    expect(rankZeroOnly.isRankZero).toBe(true);
    rankZeroOnly.rank = undefined;
    expect(rankZeroOnly.rank).toBe(1);
    expect(() => {
      rankZeroOnly.rank = -1;
    }).toThrow(/non-negative/);
  });
});

describe("rankZeroOnly", () => {
  it("runs the wrapped function on rank 0 only, keeping `this` and arguments", () => {
    const counter = {
      total: 0,
      add: rankZeroOnly(function (this: { total: number }, n: number) {
        this.total += n;
        return this.total;
      }),
    };
    rankZeroOnly.rank = 0;
    expect(counter.add(2)).toBe(2);
    rankZeroOnly.rank = 1;
    expect(counter.add(5)).toBeUndefined();
    expect(counter.total).toBe(2);
  });

  it("warns once per message, on rank 0 only", () => {
    const warn = vi.spyOn(console, "warn").mockImplementation(() => {});
    rankZeroOnly.rank = 1;
    rankZeroWarn("rank-zero test message");
    expect(warn).not.toHaveBeenCalled();
    rankZeroOnly.rank = 0;
    rankZeroWarn("rank-zero test message");
    rankZeroWarn("rank-zero test message");
    expect(warn).toHaveBeenCalledTimes(1);
  });

  it("gives non-zero ranks an experiment stand-in that swallows every call", async () => {
    const exp = dummyExperiment<{ addScalar(tag: string, v: number): void; nested: { x: number } }>();
    expect(exp.addScalar("a", 1)).toBeUndefined();
    expect(await Promise.resolve(exp)).toBe(exp); // not mistaken for a thenable
  });
});

describe("rankZeroInfo", () => {
  it("prints on rank 0 only: to stdout without a Trainer, through its `print` with one", () => {
    const write = vi.spyOn(process.stdout, "write").mockImplementation(() => true);
    const printed: unknown[][] = [];
    const trainer = { print: (...args: unknown[]) => void printed.push(args) };
    vi.stubEnv("LIGHTNING_TS_LOG_LEVEL", "info");
    rankZeroOnly.rank = 1;
    rankZeroInfo("not on rank 1");
    rankZeroInfo("not on rank 1", trainer);
    expect(write).not.toHaveBeenCalled();
    expect(printed).toEqual([]);
    rankZeroOnly.rank = 0;
    rankZeroInfo("to stdout");
    rankZeroInfo("through the trainer", trainer);
    expect(write).toHaveBeenCalledWith("to stdout\n");
    expect(printed).toEqual([["through the trainer"]]);
  });

  it("is silenced by LIGHTNING_TS_LOG_LEVEL=warning or error, as Lightning's logger level", () => {
    expect(infoEnabled({})).toBe(true);
    expect(infoEnabled({ LIGHTNING_TS_LOG_LEVEL: " DEBUG " })).toBe(true);
    expect(infoEnabled({ LIGHTNING_TS_LOG_LEVEL: "warning" })).toBe(false);
    expect(infoEnabled({ LIGHTNING_TS_LOG_LEVEL: "error" })).toBe(false);
    const write = vi.spyOn(process.stdout, "write").mockImplementation(() => true);
    vi.stubEnv("LIGHTNING_TS_LOG_LEVEL", "warning");
    rankZeroOnly.rank = 0;
    rankZeroInfo("silenced");
    expect(write).not.toHaveBeenCalled();
  });
});
