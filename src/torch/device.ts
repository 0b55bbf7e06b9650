import { tf } from "./tf.ts";

/**
 * Devices. Every tensor lives on the active tfjs backend, so a device move never copies: it
 * checks the name, and when the script asks for a GPU that is not there (research code often
 * hard-codes `.cuda()`), warns once and carries on where the tensor is.
 */
export type DeviceName = "cpu" | "cuda" | "gpu" | "webgpu" | "wasm" | `cuda:${number}`;

export class Device {
  readonly type: "cpu" | "cuda" | "gpu" | "webgpu" | "wasm";
  readonly index: number | null;
  /**
   * `new Device("cuda:1")`, `new Device("cuda", 1)`, or a bare ordinal `new Device(1)`, which
   * PyTorch reads as `cuda:1` (`tensor.to(rank)` in distributed scripts).
   */
  constructor(name: string | number | Device, index?: number | null) {
    if (name instanceof Device) {
      this.type = name.type;
      this.index = name.index;
      return;
    }
    if (typeof name === "number") {
      if (!Number.isInteger(name) || name < 0) {
        throw new Error(`unknown device ${name}: a device ordinal must be a non-negative integer`);
      }
      this.type = "cuda";
      this.index = name;
      return;
    }
    const m = /^(cpu|cuda|gpu|webgpu|wasm)(?::(\d+))?$/.exec(String(name).trim());
    if (!m) {
      throw new Error(
        `unknown device '${name}': use "cpu", "cuda", "cuda:N", "gpu", "webgpu", "wasm" or an ordinal N`,
      );
    }
    this.type = m[1] as Device["type"];
    this.index = m[2] === undefined ? null : Number(m[2]);
    if (index !== undefined && index !== null) {
      if (this.index !== null) throw new Error(`device(): type '${name}' already names an index; pass the index once`);
      if (!Number.isInteger(index) || index < 0) throw new Error(`device(): index must be a non-negative integer, got ${index}`);
      this.index = index;
    }
  }
  get isGpu(): boolean {
    return this.type === "cuda" || this.type === "gpu" || this.type === "webgpu";
  }
  toString(): string {
    return this.index === null ? this.type : `${this.type}:${this.index}`;
  }
}

/** A device name, a `Device`, or a CUDA ordinal (`0` means `"cuda:0"`, as in PyTorch). */
export type DeviceLike = string | number | Device;

/** `torch.device(name)`, `torch.device("cuda", 1)`, `torch.device(1)`. */
export function device(name: DeviceLike, index?: number | null): Device {
  return new Device(name, index);
}

const GPU_BACKENDS = new Set(["webgpu", "webgl"]);

function backendHasGpu(): boolean {
  const name = tf.getBackend();
  if (GPU_BACKENDS.has(name)) return true;
  if (name === "tensorflow") {
    // tfjs-node-gpu registers the same backend name as tfjs-node; the GPU build says so in
    // its binding.
    const b = tf.backend() as unknown as { isUsingGpuDevice?: boolean };
    return b.isUsingGpuDevice === true;
  }
  return false;
}

export const cuda = {
  /** True when the active backend runs on a GPU (tfjs-node-gpu or WebGPU). */
  isAvailable(): boolean {
    return backendHasGpu();
  },
  deviceCount(): number {
    if (!backendHasGpu()) return 0;
    const visible = process.env.CUDA_VISIBLE_DEVICES;
    if (visible !== undefined && visible.trim() !== "") return visible.split(",").length;
    return 1;
  },
};

let warned = false;

/**
 * Parsed device strings. `checkMove` runs for every `.to(device)` / `.cuda()` — per tensor per
 * batch in a training loop — and a script names only a handful of devices, so each string is
 * parsed once. Devices are immutable, so one instance serves every move. Bounded anyway: a
 * script generating many distinct names (`cuda:${i}`) cannot grow it without limit.
 */
const parsedDevices = new Map<string | number, Device>();
const MAX_PARSED_DEVICES = 64;

function parseDevice(target: DeviceLike): Device {
  if (target instanceof Device) return target;
  let d = parsedDevices.get(target);
  if (d === undefined) {
    // Throws for an unknown name: nothing is cached then. Frozen, as the instance is shared.
    d = Object.freeze(new Device(target));
    if (parsedDevices.size >= MAX_PARSED_DEVICES) parsedDevices.clear();
    parsedDevices.set(target, d);
  }
  return d;
}

/** Validates a move and warns once when a GPU is asked for but absent. */
export function checkMove(target: DeviceLike): Device {
  const d = parseDevice(target);
  if (d.isGpu && !warned && !backendHasGpu()) {
    warned = true;
    process.stderr.write(
      `lightning-ts: '${d}' requested but no GPU backend is active (running on '${tf.getBackend()}'); ` +
        `tensors stay there. Install @tensorflow/tfjs-node-gpu or use the webgpu backend for a GPU.\n`,
    );
  }
  return d;
}

/** For tests: let the next missing-GPU move warn again. */
export function resetDeviceWarning(): void {
  warned = false;
}

/**
 * `torch.accelerator` (PyTorch ≥ 2.6), what current upstream examples test instead of
 * `torch.cuda`: `isAvailable()`, `currentAccelerator()` (the GPU device, or undefined when none —
 * PyTorch returns None), `deviceCount()`.
 */
export const accelerator = {
  isAvailable(): boolean {
    return backendHasGpu();
  },
  currentAccelerator(): Device | undefined {
    return backendHasGpu() ? parseDevice("cuda") : undefined;
  },
  deviceCount(): number {
    return cuda.deviceCount();
  },
};
