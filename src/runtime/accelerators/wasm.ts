import { packageAvailable } from "../utilities/packages.ts";
import { Accelerator, type DeviceIndices } from "./accelerator.ts";
import { parseCpuDevices } from "./cpu_devices.ts";

/** `accelerator: "wasm"`: tfjs's WebAssembly backend (SIMD; threads are off under Node). */
export class WASMAccelerator extends Accelerator {
  readonly name: string = "wasm";
  readonly deviceType = "wasm";
  readonly installHint = "npm install @tensorflow/tfjs-backend-wasm@4.22.0";

  get backendName(): "wasm" {
    return "wasm";
  }

  isAvailable(): boolean {
    return packageAvailable("@tensorflow/tfjs-backend-wasm");
  }

  override parseDevices(devices: number | number[] | "auto"): DeviceIndices {
    return parseCpuDevices(this.name, devices);
  }
}
