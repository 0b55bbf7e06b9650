import { describe, it, expect, vi } from "vitest";
import { accelerator, tf, nn, device, Device, cuda } from "lightning-ts/torch";
import { resetDeviceWarning } from "../../src/torch/device";

describe("integer and cuda:N devices", () => {
  it("an ordinal is cuda:N, as in PyTorch; device(type, index)", () => {
    expect(device(0).toString()).toBe("cuda:0");
    expect(device(3).type).toBe("cuda");
    expect(device(3).index).toBe(3);
    expect(device("cuda:1").index).toBe(1);
    expect(device("cuda", 1).toString()).toBe("cuda:1");
    expect(new Device(device(2)).toString()).toBe("cuda:2");
    expect(() => device(-1)).toThrow(/non-negative integer/);
    expect(() => device(1.5)).toThrow(/non-negative integer/);
    expect(() => device("cuda:0", 1)).toThrow(/already names an index/);
  });

  it(".to(0), .to(rank), model.to(rank): same objects, one warning without a GPU", () => {
    resetDeviceWarning();
    const spy = vi.spyOn(process.stderr, "write").mockImplementation(() => true);
    try {
      expect(cuda.isAvailable()).toBe(false);
      const t = tf.tensor([1, 2]);
      const rank = 1;
      expect(t.to(0)).toBe(t);
      expect(t.to(rank)).toBe(t);
      expect(t.to(`cuda:${rank}`)).toBe(t);
      const model = new nn.Linear(2, 1);
      expect(model.to(rank)).toBe(model);
      expect(model.to(device(rank))).toBe(model);
      const warnings = spy.mock.calls.map((c) => String(c[0])).filter((s) => s.includes("no GPU"));
      expect(warnings).toHaveLength(1);
      expect(warnings[0]).toMatch(/'cuda:0' requested/);
      expect(() => t.to(-2)).toThrow(/non-negative integer/);
    } finally {
      spy.mockRestore();
    }
  });
});

describe("accelerator (torch.accelerator)", () => {
  it("reports no accelerator on a CPU backend, like PyTorch's None", () => {
    expect(accelerator.isAvailable()).toBe(false);
    expect(accelerator.currentAccelerator()).toBeUndefined();
    expect(accelerator.deviceCount()).toBe(0);
  });
});
