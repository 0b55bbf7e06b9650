import { tf } from "../../torch/tf.ts";
import { Device } from "../../torch/device.ts";
import { ready, selectBackend, type BackendName } from "../../torch/backends/select.ts";
import { MisconfigurationError } from "../errors.ts";

/** The accelerator names a user can pass (`auto` and `gpu` are resolved by the connector). */
export type AcceleratorName = "cpu" | "wasm" | "webgpu" | "cuda";

/** What `devices` parsed into: the device indices this process group runs on. */
export type DeviceIndices = number[];

/**
 * An accelerator is a kind of hardware reached through one tfjs backend (Fabric's
 * `Accelerator`). It knows whether it can run here (`isAvailable`, without loading anything
 * heavy), how many devices it has, how a `devices` flag maps to device indices, and how to make
 * its backend the active one (`setupDevice`).
 */
export abstract class Accelerator {
  abstract readonly name: string;
  /** The device type tensors report on this accelerator (`lite.device.type`). */
  abstract readonly deviceType: Device["type"];
  /** What to install when `isAvailable()` is false, for the error message. */
  abstract readonly installHint: string;

  /** The tfjs backend this accelerator runs on (`tf.getBackend()` once set up). */
  abstract get backendName(): Exclude<BackendName, "auto">;

  /** True when the packages this accelerator needs are installed. */
  abstract isAvailable(): boolean;

  /** Why it cannot run here (what to install), or null when it can. */
  unavailableReason(): string | null {
    return this.isAvailable() ? null : this.installHint;
  }

  /** Number of devices `devices: "auto"` means. */
  autoDeviceCount(): number {
    return 1;
  }

  /**
   * Parses the `devices` flag into device indices (validated by the connector first: a
   * positive integer, `-1`, or a list of distinct non-negative integers).
   */
  parseDevices(devices: number | number[] | "auto"): DeviceIndices {
    const count = this.autoDeviceCount();
    if (devices === "auto") return range(count);
    if (typeof devices === "number") {
      // A number of devices on a CPU-like accelerator is a number of processes, one device each.
      return range(devices === -1 ? count : devices);
    }
    for (const i of devices) {
      if (i >= count) {
        throw new MisconfigurationError(
          `devices=[${devices.join(", ")}]: the ${this.name} accelerator has ${count} device${count === 1 ? "" : "s"} ` +
            `(indices 0..${count - 1}), so index ${i} does not exist`,
        );
      }
    }
    return [...devices];
  }

  /** The device objects for parsed indices. */
  getParallelDevices(indices: DeviceIndices): Device[] {
    return indices.map((i) => this.device(i));
  }

  /** The device at `index`. Single-device kinds have no index in their name (`"wasm"`). */
  device(_index: number): Device {
    return new Device(this.deviceType);
  }

  /** True when this accelerator's backend is already the active tfjs backend. */
  isActive(): boolean {
    return tf.getBackend() === this.backendName;
  }

  /**
   * Makes this accelerator's backend the active one. Tensors created earlier stay valid: tfjs
   * moves a tensor's data to the active backend the first time it is used there.
   */
  async setupDevice(_device: Device): Promise<void> {
    // The backend chosen at import may still be starting (WebGPU).
    await ready();
    if (this.isActive()) return;
    await selectBackend(this.backendName);
  }

  toString(): string {
    return `${this.constructor.name}(${this.backendName})`;
  }
}

function range(n: number): number[] {
  return Array.from({ length: n }, (_, i) => i);
}
