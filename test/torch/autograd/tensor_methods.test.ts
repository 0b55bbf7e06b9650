import { describe, it, expect, vi } from "vitest";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { tf, cuda, device } from "lightning-ts/torch";
import { checkMove, resetDeviceWarning } from "../../../src/torch/device";
import { setLossTraceRankCheck } from "../../../src/torch/autograd/loss_trace";

describe("tensor methods", () => {
  it("item() reads one element and refuses more", () => {
    expect(tf.tensor([2.5]).item()).toBe(2.5);
    expect(tf.scalar(-3).item()).toBe(-3);
    expect(() => tf.tensor([1, 2]).item()).toThrow(/2 elements/);
  });

  it("device moves return the same tensor; a missing GPU warns once", () => {
    resetDeviceWarning();
    const spy = vi.spyOn(process.stderr, "write").mockImplementation(() => true);
    const t = tf.tensor([1]);
    expect(cuda.isAvailable()).toBe(false);
    expect(t.to("cpu")).toBe(t);
    expect(t.cuda()).toBe(t);
    expect(t.to("cuda:0")).toBe(t);
    expect(t.to(device("cuda:1"))).toBe(t);
    expect(t.cpu()).toBe(t);
    const warnings = spy.mock.calls.map((c) => String(c[0])).filter((s) => s.includes("no GPU"));
    spy.mockRestore();
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/'cuda' requested/);
  });

  it("checkMove parses each device string once (it runs per tensor per batch)", () => {
    const spy = vi.spyOn(process.stderr, "write").mockImplementation(() => true);
    try {
      // The same string gives the same (immutable) Device: no regex parse on later moves.
      const first = checkMove("cuda:0");
      expect(checkMove("cuda:0")).toBe(first);
      expect(first.type).toBe("cuda");
      expect(first.index).toBe(0);
      expect(checkMove("cpu")).toBe(checkMove("cpu"));
      expect(checkMove("cpu")).not.toBe(first);
      // A Device is used as it is.
      const d = device("wasm");
      expect(checkMove(d)).toBe(d);
      // Unknown names are not cached: they keep failing.
      expect(() => checkMove("tpu")).toThrow(/unknown device 'tpu'/);
      expect(() => checkMove("tpu")).toThrow(/unknown device 'tpu'/);
      // Many distinct names (the cache is bounded) still parse correctly.
      for (let i = 0; i < 200; i++) expect(checkMove(`cuda:${i}`).index).toBe(i);
      expect(checkMove("cuda:0").toString()).toBe("cuda:0");
    } finally {
      spy.mockRestore();
    }
  });

  it("refuses an unknown device string with the valid forms", () => {
    expect(() => tf.tensor([1]).to("tpu")).toThrow(/unknown device 'tpu'.*cuda:N/);
    expect(device("cuda:3").index).toBe(3);
    expect(String(device("webgpu"))).toBe("webgpu");
  });
});

describe("LIGHTNING_TS_LOSS_TRACE", () => {
  it("appends every backward's loss at full precision, on rank 0 only", () => {
    const file = join(mkdtempSync(join(tmpdir(), "trace-")), "trace.txt");
    process.env.LIGHTNING_TS_LOSS_TRACE = file;
    try {
      const w = tf.variable(tf.tensor([0.1, 0.2]));
      const losses: number[] = [];
      for (let i = 0; i < 3; i++) {
        const loss = tf.sum(tf.square(tf.mul(w, i + 1.3)));
        losses.push(loss.dataSync()[0]);
        loss.backward();
      }
      setLossTraceRankCheck(() => false);
      tf.sum(tf.square(w)).backward();
      setLossTraceRankCheck(() => true);
      const lines = readFileSync(file, "utf8").trim().split("\n").map(Number);
      expect(lines).toEqual(losses);
    } finally {
      delete process.env.LIGHTNING_TS_LOSS_TRACE;
    }
  });

  it("is not written when backward is asked not to trace", () => {
    const file = join(mkdtempSync(join(tmpdir(), "trace-")), "trace.txt");
    process.env.LIGHTNING_TS_LOSS_TRACE = file;
    try {
      const w = tf.variable(tf.tensor([1]));
      tf.sum(w).backward({ trace: false });
      expect(() => readFileSync(file)).toThrow();
    } finally {
      delete process.env.LIGHTNING_TS_LOSS_TRACE;
    }
  });
});
