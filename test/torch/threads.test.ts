import { afterEach, describe, expect, it, vi } from "vitest";
import os from "node:os";
import { getNumThreads, setNumThreads, ready } from "lightning-ts/torch";
import { parseThreadCount } from "../../src/torch/backends/wasm_threads";

afterEach(() => {
  vi.restoreAllMocks();
});

describe("LIGHTNING_TS_NUM_THREADS", () => {
  it("is a positive integer or 'auto' (Node's cores); unset or empty is one thread", () => {
    expect(parseThreadCount("", "X")).toBe(1);
    expect(parseThreadCount(" 4 ", "X")).toBe(4);
    expect(parseThreadCount(2, "X")).toBe(2);
    expect(parseThreadCount("auto", "X")).toBe(os.availableParallelism());
    for (const bad of ["0", "-2", "1.5", "two", "NaN"]) {
      expect(() => parseThreadCount(bad, "LIGHTNING_TS_NUM_THREADS")).toThrow(`LIGHTNING_TS_NUM_THREADS must be a positive integer (or 'auto'), got '${bad}'`);
    }
  });
});

describe("getNumThreads / setNumThreads (torch.get_num_threads / set_num_threads)", () => {
  it("reports the running pool; asking for it again is a no-op, another count warns once and changes nothing", async () => {
    await ready();
    expect(getNumThreads()).toBe(1);
    const warn = vi.spyOn(process, "emitWarning").mockImplementation(() => undefined);
    setNumThreads(1);
    expect(warn).not.toHaveBeenCalled();
    setNumThreads(4);
    expect(warn).toHaveBeenCalledTimes(1);
    expect(String(warn.mock.calls[0]![0])).toContain("LIGHTNING_TS_NUM_THREADS=4");
    setNumThreads(3);
    expect(warn).toHaveBeenCalledTimes(1);
    expect(getNumThreads()).toBe(1);
    expect(() => setNumThreads(0)).toThrow("setNumThreads() must be a positive integer");
  });
});
