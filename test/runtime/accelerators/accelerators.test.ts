import { describe, it, expect, beforeAll, afterEach } from "vitest";
import {
  ACCELERATOR_REGISTRY,
  AcceleratorRegistry,
  CPUAccelerator,
  CUDAAccelerator,
  Connector,
  MisconfigurationError,
  WASMAccelerator,
  WebGPUAccelerator,
} from "lightning-ts";
import { tf } from "lightning-ts/torch";
import { usePureJsCpu } from "../helpers";

describe("accelerators", () => {
  beforeAll(usePureJsCpu);
  const savedVisible = process.env.CUDA_VISIBLE_DEVICES;
  afterEach(() => {
    if (savedVisible === undefined) delete process.env.CUDA_VISIBLE_DEVICES;
    else process.env.CUDA_VISIBLE_DEVICES = savedVisible;
  });

  it("each names its backend, device type and what to install", () => {
    // (WebGPU's packages are devDependencies here; Dawn finding no adapter is set through the probe's variable)
    const savedAdapter = process.env.LIGHTNING_TS_WEBGPU_ADAPTER;
    process.env.LIGHTNING_TS_WEBGPU_ADAPTER = JSON.stringify({ found: false, software: false, description: "", reason: "Dawn found no adapter" });
    const cases: Array<[object, string, string, boolean]> = [
      [new CPUAccelerator(), "cpu", "cpu", true],
      [new WASMAccelerator(), "wasm", "wasm", true],
      [new WebGPUAccelerator(), "webgpu", "webgpu", false],
      [new CUDAAccelerator(), "tensorflow", "cuda", false],
    ];
    for (const [acc, backend, deviceType, available] of cases) {
      const a = acc as CPUAccelerator;
      expect(a.backendName).toBe(backend);
      expect(a.deviceType).toBe(deviceType);
      expect(a.isAvailable()).toBe(available);
      expect(a.installHint.length).toBeGreaterThan(0);
    }
    expect(new WebGPUAccelerator().installHint).toContain("webgpu @tensorflow/tfjs-backend-webgpu");
    expect(new WebGPUAccelerator().unavailableReason()).toBe("Dawn found no adapter; install a Vulkan driver (NVIDIA's, or Mesa's)");
    if (savedAdapter === undefined) delete process.env.LIGHTNING_TS_WEBGPU_ADAPTER;
    else process.env.LIGHTNING_TS_WEBGPU_ADAPTER = savedAdapter;
    expect(new CUDAAccelerator().installHint).toContain("@tensorflow/tfjs-node-gpu");
  });

  it("isActive follows the active tfjs backend", () => {
    expect(tf.getBackend()).toBe("cpu");
    expect(new CPUAccelerator().isActive()).toBe(true); // LIGHTNING_TS_BACKEND=cpu pins pure JS
    expect(new WASMAccelerator().isActive()).toBe(false);
    expect(new CUDAAccelerator().isActive()).toBe(false);
  });

  it("CUDA counts the GPUs CUDA_VISIBLE_DEVICES lets it see, and names devices cuda:N", () => {
    process.env.CUDA_VISIBLE_DEVICES = "0,2";
    const cuda = new CUDAAccelerator();
    expect(cuda.autoDeviceCount()).toBe(2);
    expect(cuda.parseDevices("auto")).toEqual([0, 1]);
    expect(cuda.parseDevices(-1)).toEqual([0, 1]);
    expect(cuda.parseDevices([1])).toEqual([1]);
    expect(cuda.getParallelDevices([0, 1]).map(String)).toEqual(["cuda:0", "cuda:1"]);
    expect(() => cuda.parseDevices([2])).toThrow(MisconfigurationError);
    expect(() => cuda.parseDevices([2])).toThrow("devices=[2]: the cuda accelerator has 2 devices (indices 0..1), so index 2 does not exist");
  });

  it("WebGPU has one device", () => {
    const w = new WebGPUAccelerator();
    expect(w.parseDevices("auto")).toEqual([0]);
    expect(w.parseDevices([0])).toEqual([0]);
    expect(() => w.parseDevices([1])).toThrow("the webgpu accelerator has 1 device (indices 0..0)");
  });

  it("the registry refuses duplicates; a registered accelerator becomes a valid flag value", () => {
    const reg = new AcceleratorRegistry();
    reg.register("x", () => new CPUAccelerator());
    expect(() => reg.register("x", () => new CPUAccelerator())).toThrow("an accelerator named 'x' is already registered");
    expect(() => reg.get("y")).toThrow("no accelerator named 'y'; registered: x");

    class PinnedCpu extends CPUAccelerator {
      override readonly name = "pinned-cpu";
    }
    ACCELERATOR_REGISTRY.register("pinned-cpu", () => new PinnedCpu(), "test accelerator");
    try {
      const c = new Connector({ accelerator: "pinned-cpu" as never });
      expect(c.accelerator).toBeInstanceOf(PinnedCpu);
      expect(ACCELERATOR_REGISTRY.description("pinned-cpu")).toBe("test accelerator");
    } finally {
      // The registry is process-wide and test files share processes.
      expect(ACCELERATOR_REGISTRY.remove("pinned-cpu")).toBe(true);
    }
    expect(ACCELERATOR_REGISTRY.has("pinned-cpu")).toBe(false);
  });
});
