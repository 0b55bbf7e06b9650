import { readdirSync } from "node:fs";
import { tf } from "../../torch/tf.ts";
import { Device } from "../../torch/device.ts";
import { selectBackend } from "../../torch/backends/select.ts";
import { MisconfigurationError } from "../errors.ts";
import { packageAvailable } from "../utilities/packages.ts";
import { Accelerator, type DeviceIndices } from "./accelerator.ts";

/**
 * `accelerator: "cuda"`: native TensorFlow with CUDA through `@tensorflow/tfjs-node-gpu`.
 *
 * The binding runs on the last GPU it can see, and chooses when it is loaded. So a process that
 * has not loaded it yet is pointed at the chosen GPU through `CUDA_VISIBLE_DEVICES`; one that
 * has (the torch layer loads the best backend on import) can only use the GPU already chosen.
 */
export class CUDAAccelerator extends Accelerator {
  readonly name: string = "cuda";
  readonly deviceType = "cuda";
  readonly installHint = "npm install @tensorflow/tfjs-node-gpu@4.22.0 (CUDA 11.2 + cuDNN 8.1)";

  get backendName(): "tensorflow" {
    return "tensorflow";
  }

  isAvailable(): boolean {
    return this.unavailableReason() === null;
  }

  /** The package, and a GPU the driver shows (`CUDA_VISIBLE_DEVICES` or /proc/driver/nvidia). */
  override unavailableReason(): string | null {
    if (!packageAvailable("@tensorflow/tfjs-node-gpu")) return this.installHint;
    if (visibleGpuIds().length === 0) return "@tensorflow/tfjs-node-gpu is installed, but no CUDA device is visible (no NVIDIA driver, or CUDA_VISIBLE_DEVICES hides them all)";
    return null;
  }

  override autoDeviceCount(): number {
    return visibleGpuIds().length || 1;
  }

  override parseDevices(devices: number | number[] | "auto"): DeviceIndices {
    // One GPU asked for by number: the one a loaded binding already runs on.
    if (devices === 1 && bindingLoaded()) return [this.autoDeviceCount() - 1];
    return super.parseDevices(devices);
  }

  override device(index: number): Device {
    return new Device(`cuda:${index}`);
  }

  override isActive(): boolean {
    return bindingLoaded() && tf.getBackend() === "tensorflow";
  }

  override async setupDevice(device: Device): Promise<void> {
    const index = device.index ?? 0;
    const ids = visibleGpuIds();
    if (bindingLoaded()) {
      const used = ids.length - 1;
      if (ids.length > 1 && index !== used) {
        throw new MisconfigurationError(
          `cuda:${index} was requested, but @tensorflow/tfjs-node-gpu was already loaded and runs on the last ` +
            `visible GPU (cuda:${used}); start the process with CUDA_VISIBLE_DEVICES=${ids[index] ?? index} to use that GPU`,
        );
      }
    } else if (ids.length > 1) {
      process.env.CUDA_VISIBLE_DEVICES = ids[index];
    }
    if (!this.isActive()) await selectBackend("tensorflow");
    if (!bindingLoaded()) {
      throw new MisconfigurationError(
        `the 'tensorflow' backend is active but is not using a GPU: @tensorflow/tfjs-node (CPU) was loaded instead of ` +
          `@tensorflow/tfjs-node-gpu, or no CUDA device is visible (check CUDA 11.2 / cuDNN 8.1 and CUDA_VISIBLE_DEVICES)`,
      );
    }
  }
}

/** True when the native binding is loaded and reports a GPU device. */
function bindingLoaded(): boolean {
  const backend = tf.findBackend("tensorflow") as unknown as { isUsingGpuDevice?: boolean } | null;
  return backend?.isUsingGpuDevice === true;
}

/** Physical ids of the GPUs this process may use: `CUDA_VISIBLE_DEVICES`, else every GPU the driver lists. */
function visibleGpuIds(): string[] {
  const visible = process.env.CUDA_VISIBLE_DEVICES;
  if (visible !== undefined) {
    return visible
      .split(",")
      .map((s) => s.trim())
      .filter((s) => s !== "" && s !== "-1");
  }
  try {
    return readdirSync("/proc/driver/nvidia/gpus").map((_, i) => String(i));
  } catch {
    return [];
  }
}
