import { backendFromEnv, type BackendName } from "../../torch/backends/select.ts";
import { packageAvailable } from "../utilities/packages.ts";
import { Accelerator, type DeviceIndices } from "./accelerator.ts";
import { parseCpuDevices } from "./cpu_devices.ts";

/**
 * `accelerator: "cpu"`: the fastest CPU backend installed — tfjs-node (native TensorFlow),
 * else WASM (SIMD), else the pure-JS backend. A CPU backend named explicitly in
 * `LIGHTNING_TS_BACKEND` (`cpu`, `wasm`, `tensorflow`) is kept: that variable is how a user pins
 * the backend for plain and Lite scripts alike (tests use it to run on pure JS).
 */
export class CPUAccelerator extends Accelerator {
  readonly name: string = "cpu";
  readonly deviceType = "cpu";
  readonly installHint = "nothing: the pure-JS cpu backend ships with lightning-ts";

  get backendName(): Exclude<BackendName, "auto"> {
    const pinned = backendFromEnv();
    if (pinned === "cpu" || pinned === "wasm") return pinned;
    // A pinned `tensorflow` is honoured by the next line only when it is the CPU build.
    if (nativeCpuInstalled()) return "tensorflow";
    if (packageAvailable("@tensorflow/tfjs-backend-wasm")) return "wasm";
    return "cpu";
  }

  isAvailable(): boolean {
    return true;
  }

  override parseDevices(devices: number | number[] | "auto"): DeviceIndices {
    return parseCpuDevices(this.name, devices);
  }
}

/**
 * tfjs-node and tfjs-node-gpu register the same `tensorflow` backend, and the torch layer loads
 * the GPU build first when both are installed; the native backend is a CPU one only when the
 * GPU build is absent.
 */
function nativeCpuInstalled(): boolean {
  return packageAvailable("@tensorflow/tfjs-node") && !packageAvailable("@tensorflow/tfjs-node-gpu");
}
