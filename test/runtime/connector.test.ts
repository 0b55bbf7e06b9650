import { describe, it, expect, beforeAll, afterEach } from "vitest";
import {
  Connector,
  MisconfigurationError,
  CPUAccelerator,
  WASMAccelerator,
  WebGPUAccelerator,
  SingleDeviceStrategy,
  DDPStrategy,
  DDPSpawnStrategy,
  FullPrecision,
  MixedPrecision,
  HalfPrecision,
  LightningEnvironment,
  ACCELERATOR_REGISTRY,
  parseDevicesFlag,
} from "lightning-ts";
import { usePureJsCpu } from "./helpers";

/** What this machine has: no tfjs-node, no tfjs-node-gpu, no GPU; WASM is a dependency, WebGPU's packages devDependencies. */
describe("Connector on this machine", () => {
  beforeAll(usePureJsCpu);
  afterEach(() => {
    process.env.LIGHTNING_TS_BACKEND = "cpu";
  });

  it("knows what is installed here", () => {
    expect(ACCELERATOR_REGISTRY.names()).toEqual(["cpu", "wasm", "webgpu", "cuda"]);
    expect(ACCELERATOR_REGISTRY.available()).toEqual(["cpu", "wasm"]);
  });

  it("auto picks the CPU accelerator (no GPU backend installed) on one device", () => {
    const c = new Connector();
    expect(c.accelerator).toBeInstanceOf(CPUAccelerator);
    expect(c.strategy).toBeInstanceOf(SingleDeviceStrategy);
    expect(c.precision).toBeInstanceOf(FullPrecision);
    expect(c.clusterEnvironment).toBeInstanceOf(LightningEnvironment);
    expect(c.parallelDevices).toEqual([0]);
    expect(c.strategy.rootDevice.toString()).toBe("cpu");
    expect(c.strategy.accelerator).toBe(c.accelerator);
    expect(c.strategy.precision).toBe(c.precision);
  });

  it("cpu: the fastest CPU backend (WASM here), or the one pinned by LIGHTNING_TS_BACKEND", () => {
    delete process.env.LIGHTNING_TS_BACKEND;
    expect(new Connector({ accelerator: "cpu" }).accelerator.backendName).toBe("wasm");
    process.env.LIGHTNING_TS_BACKEND = "cpu";
    expect(new Connector({ accelerator: "cpu" }).accelerator.backendName).toBe("cpu");
    // A GPU backend pinned in the environment does not turn the cpu accelerator into a GPU one.
    process.env.LIGHTNING_TS_BACKEND = "webgpu";
    expect(new Connector({ accelerator: "cpu" }).accelerator.backendName).toBe("wasm");
  });

  it("wasm: the WASM backend, device 'wasm'", () => {
    const c = new Connector({ accelerator: "wasm", devices: 1 });
    expect(c.accelerator).toBeInstanceOf(WASMAccelerator);
    expect(c.accelerator.backendName).toBe("wasm");
    expect(c.strategy.rootDevice.toString()).toBe("wasm");
  });

  // The WebGPU packages are devDependencies here; which adapter Dawn has is set through the
  // probe's environment variable (webgpu_adapter.ts), as a launching process passes it on.
  const withAdapter = (probe: object | null, fn: () => void) => {
    const saved = { adapter: process.env.LIGHTNING_TS_WEBGPU_ADAPTER, allow: process.env.LIGHTNING_TS_WEBGPU_ALLOW_SOFTWARE };
    process.env.LIGHTNING_TS_WEBGPU_ADAPTER = JSON.stringify(probe ?? { found: false, software: false, description: "", reason: "Dawn found no adapter (is a Vulkan driver installed?)" });
    try {
      fn();
    } finally {
      for (const [k, v] of [["LIGHTNING_TS_WEBGPU_ADAPTER", saved.adapter], ["LIGHTNING_TS_WEBGPU_ALLOW_SOFTWARE", saved.allow]] as const) {
        if (v === undefined) delete process.env[k];
        else process.env[k] = v;
      }
    }
  };
  const llvmpipe = { found: true, software: true, description: "llvmpipe: Mesa 25.0.7", reason: "" };

  it("gpu without a GPU adapter: a clear error naming CUDA's package and why WebGPU cannot run", () => {
    withAdapter(null, () => {
      const err = error(() => new Connector({ accelerator: "gpu" }));
      expect(err).toBeInstanceOf(MisconfigurationError);
      expect(err.message).toContain('accelerator="gpu": no GPU backend works here');
      expect(err.message).toContain("@tensorflow/tfjs-node-gpu");
      expect(err.message).toContain("WebGPU: Dawn found no adapter (is a Vulkan driver installed?); install a Vulkan driver");
      expect(err.message).toContain("Available accelerators here: cpu, wasm");
    });
  });

  it("gpu with only a software adapter (llvmpipe): refused, saying how to allow it; allowed, it runs WebGPU", () => {
    withAdapter(llvmpipe, () => {
      expect(error(() => new Connector({ accelerator: "gpu" })).message).toContain(
        "the only WebGPU adapter is a software one (llvmpipe: Mesa 25.0.7), slower than the CPU backends; set LIGHTNING_TS_WEBGPU_ALLOW_SOFTWARE=1 to use it anyway",
      );
      expect(error(() => new Connector({ accelerator: "webgpu" })).message).toMatch(/accelerator="webgpu" is not available on this machine: the only WebGPU adapter is a software one/);
      process.env.LIGHTNING_TS_WEBGPU_ALLOW_SOFTWARE = "1";
      expect(new Connector({ accelerator: "gpu" }).accelerator).toBeInstanceOf(WebGPUAccelerator);
      expect(new Connector({ accelerator: "webgpu" }).strategy.rootDevice.toString()).toBe("webgpu");
    });
  });

  it("gpu with a hardware adapter: WebGPU; auto picks it only where the machine shows a GPU", () => {
    withAdapter({ found: true, software: false, description: "NVIDIA H100", reason: "" }, () => {
      expect(new Connector({ accelerator: "gpu" }).accelerator).toBeInstanceOf(WebGPUAccelerator);
      // (this machine has no /dev/dri render node nor /dev/nvidia0: auto does not even ask Dawn)
      expect(new Connector({ accelerator: "auto" }).accelerator.name).toBe("cpu");
    });
  });

  it("cuda: a clear error naming @tensorflow/tfjs-node-gpu", () => {
    const err = error(() => new Connector({ accelerator: "cuda" }));
    expect(err).toBeInstanceOf(MisconfigurationError);
    expect(err.message).toMatch(/accelerator="cuda" is not available on this machine: npm install @tensorflow\/tfjs-node-gpu/);
  });

  it("an unknown accelerator names the value and the valid ones", () => {
    for (const bad of ["tpu", "mps", "CPU", 3]) {
      const err = error(() => new Connector({ accelerator: bad as never }));
      expect(err).toBeInstanceOf(MisconfigurationError);
      expect(err.message).toContain(`accelerator=${typeof bad === "string" ? `"${bad}"` : bad} is not a valid accelerator`);
      expect(err.message).toContain("valid: auto, gpu, cpu, wasm, webgpu, cuda");
    }
  });
});

describe("Connector: devices and numNodes", () => {
  beforeAll(usePureJsCpu);

  it("parses every form of the devices flag", () => {
    expect(parseDevicesFlag("auto")).toBe("auto");
    expect(parseDevicesFlag(1)).toBe(1);
    expect(parseDevicesFlag("2")).toBe(2);
    expect(parseDevicesFlag(-1)).toBe(-1);
    expect(parseDevicesFlag("-1")).toBe(-1);
    expect(parseDevicesFlag([0, 2])).toEqual([0, 2]);
    expect(parseDevicesFlag("0,1")).toEqual([0, 1]);
    expect(parseDevicesFlag("0,")).toEqual([0]);
  });

  it("refuses invalid devices values, naming the value", () => {
    const cases: Array<[unknown, string]> = [
      [0, "devices=0 is not valid: zero devices"],
      ["0", "devices=\"0\" is not valid: zero devices"],
      [[], "devices=[] is not valid: an empty list"],
      [1.5, "devices=1.5 is not valid: not an integer"],
      [-2, "devices=-2 is not valid: negative"],
      [[0, 0], "devices=[0, 0] is not valid: an index appears twice"],
      [[-1], "devices=[-1] is not valid: -1 is not a device index"],
      ["two", 'devices="two" is not valid'],
      [{}, "devices=an object is not valid: unsupported type"],
    ];
    for (const [value, message] of cases) {
      const err = error(() => new Connector({ devices: value as never }));
      expect(err).toBeInstanceOf(MisconfigurationError);
      expect(err.message).toContain(message);
      expect(err.message).toContain('Use a positive integer, -1 (all), a list of distinct device indices, or "auto"');
    }
  });

  it("cpu devices are a number of processes: a list or -1 is refused", () => {
    for (const [value, shown] of [[[0], "[0]"], [-1, "-1"]] as const) {
      const err = error(() => new Connector({ accelerator: "cpu", devices: value as never }));
      expect(err.message).toBe(
        `devices=${shown} is not valid for the cpu accelerator: there it is a number of processes, a positive integer or "auto"`,
      );
    }
  });

  it("more than one device runs ddp, one process per device", () => {
    const c = new Connector({ accelerator: "cpu", devices: 2 });
    expect(c.strategy).toBeInstanceOf(DDPStrategy);
    expect((c.strategy as DDPStrategy).parallelDevices.map(String)).toEqual(["cpu", "cpu"]);
    const single = error(() => new Connector({ devices: 2, strategy: "single" }));
    expect(single.message).toBe('strategy="single" runs one process on one device, but devices=2 selects 2 cpu devices');
  });

  it("numNodes: positive integers; more than one runs ddp", () => {
    for (const bad of [0, -1, 1.5, "2"]) {
      const err = error(() => new Connector({ numNodes: bad as never }));
      expect(err.message).toContain(`numNodes=${typeof bad === "string" ? `"${bad}"` : bad} is not valid: use a positive integer`);
    }
    const c = new Connector({ numNodes: 2 });
    expect(c.strategy).toBeInstanceOf(DDPStrategy);
    expect((c.strategy as DDPStrategy).numNodes).toBe(2);
  });

  it("a launcher's environment with several processes runs ddp at the rank it gives", () => {
    const env = new LightningEnvironment({ RANK: "1", LOCAL_RANK: "1", WORLD_SIZE: "2" });
    const c = new Connector({ plugins: [env] });
    expect(c.strategy).toBeInstanceOf(DDPStrategy);
    expect([c.strategy.globalRank, c.strategy.localRank, c.strategy.worldSize]).toEqual([1, 1, 2]);
    expect(c.strategy.isGlobalZero).toBe(false);
  });
});

describe("Connector: strategy, precision, plugins", () => {
  beforeAll(usePureJsCpu);

  it("strategy auto and single give the single-device strategy", () => {
    expect(new Connector({ strategy: "auto" }).strategy).toBeInstanceOf(SingleDeviceStrategy);
    expect(new Connector({ strategy: "single" }).strategy).toBeInstanceOf(SingleDeviceStrategy);
  });

  it("ddp runs the DDP strategy even on one device; ddp_spawn its spawning form, on this machine only", () => {
    const c = new Connector({ strategy: "ddp" });
    expect(c.strategy).toBeInstanceOf(DDPStrategy);
    expect(c.strategy.worldSize).toBe(1);
    expect(c.strategy.distributedSamplerSettings()).toEqual({ numReplicas: 1, rank: 0 });
    const spawn = new Connector({ strategy: "ddp_spawn", devices: 2 }).strategy;
    expect(spawn).toBeInstanceOf(DDPSpawnStrategy);
    expect(spawn.name).toBe("ddp_spawn");
    expect((spawn as DDPSpawnStrategy).parallelDevices).toHaveLength(2);
    const err = error(() => new Connector({ strategy: "ddp_spawn", numNodes: 2 }));
    expect(err).toBeInstanceOf(MisconfigurationError);
    expect(err.message).toBe('strategy="ddp_spawn" starts its processes on this machine; numNodes=2 needs strategy="ddp" (or a cluster launcher)');
  });

  it("an unknown strategy names the value and the valid ones", () => {
    const err = error(() => new Connector({ strategy: "deepspeed" as never }));
    expect(err.message).toBe(
      'strategy="deepspeed" is not a valid strategy; valid: auto, single, ddp, ddp_spawn or a Strategy instance',
    );
  });

  it("a Strategy instance is used as given, with the resolved accelerator and precision", () => {
    const s = new SingleDeviceStrategy("cpu");
    const c = new Connector({ strategy: s });
    expect(c.strategy).toBe(s);
    expect(s.accelerator).toBe(c.accelerator);
    expect(s.precision).toBe(c.precision);
  });

  it("32-true and its aliases give full precision", () => {
    for (const p of ["32-true", "32", 32] as const) {
      expect(new Connector({ precision: p }).precision).toBeInstanceOf(FullPrecision);
      expect(new Connector({ precision: p }).precision.name).toBe("32-true");
    }
  });

  it("16-bit values and their aliases give the mixed and half precision plugins", () => {
    const cases: Array<[unknown, string]> = [
      ["16-mixed", "16-mixed"],
      ["bf16-mixed", "bf16-mixed"],
      ["16-true", "16-true"],
      ["bf16-true", "bf16-true"],
      [16, "16-mixed"],
      ["16", "16-mixed"],
      ["bf16", "bf16-mixed"],
    ];
    for (const [value, canonical] of cases) {
      const precision = new Connector({ precision: value as never }).precision;
      expect(precision.name).toBe(canonical);
      expect(precision).toBeInstanceOf(canonical.endsWith("-mixed") ? MixedPrecision : HalfPrecision);
    }
    expect((new Connector({ precision: "16-mixed" }).precision as MixedPrecision).scaler).not.toBeNull();
    expect((new Connector({ precision: "bf16-mixed" }).precision as MixedPrecision).scaler).toBeNull();
  });

  it("64-bit is refused with the reason", () => {
    for (const value of [64, "64", "64-true"]) {
      const err = error(() => new Connector({ precision: value as never }));
      expect(err).toBeInstanceOf(MisconfigurationError);
      expect(err.message).toContain("is refused: TensorFlow.js has no float64 dtype");
      expect(err.message).toContain("use 32-true");
    }
  });

  it("an invalid precision names the value and the valid ones", () => {
    const err = error(() => new Connector({ precision: "fp8" as never }));
    expect(err.message).toBe(
      'precision="fp8" is not a valid precision; valid: 32-true, 16-mixed, bf16-mixed, 16-true, bf16-true (aliases 32, "32", 16, "16", "bf16")',
    );
  });

  it("an unknown option (a typo, an old Lightning flag) is an error naming it", () => {
    expect(error(() => new Connector({ gpus: 1 } as never)).message).toBe(
      'unknown LightningLite option `gpus`; it was removed from Lightning: use `accelerator: "gpu"` with `devices`',
    );
    expect(error(() => new Connector({ acelerator: "cpu" } as never)).message).toBe("unknown LightningLite option `acelerator`; did you mean `accelerator`?");
    expect(error(() => new Connector({ acelerator: "cpu" } as never))).toBeInstanceOf(MisconfigurationError);
  });

  it("plugins: a precision plugin and a cluster environment are used; duplicates and strangers refused", () => {
    const p = new FullPrecision();
    const env = new LightningEnvironment({});
    const c = new Connector({ plugins: [p, env] });
    expect(c.precision).toBe(p);
    expect(c.clusterEnvironment).toBe(env);
    expect(error(() => new Connector({ plugins: [p, new FullPrecision()] })).message).toContain("more than one precision plugin");
    expect(error(() => new Connector({ plugins: [env, new LightningEnvironment({})] })).message).toContain(
      "more than one cluster environment",
    );
    expect(error(() => new Connector({ plugins: [{} as never] })).message).toContain("is not a plugin");
    expect(error(() => new Connector({ plugins: [p], precision: "32-true" })).message).toContain("both as the `precision` flag and as a plugin");
  });
});

function error(fn: () => unknown): Error {
  try {
    fn();
  } catch (e) {
    return e as Error;
  }
  throw new Error("expected an error");
}
