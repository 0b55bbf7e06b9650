import { packageAvailable } from "../utilities/packages.ts";
import { Accelerator } from "./accelerator.ts";

/**
 * `accelerator: "webgpu"`: tfjs's WebGPU backend on Dawn (the `webgpu` npm package). Both
 * packages must be installed; whether a GPU adapter exists (a Vulkan driver) is only known when
 * the backend starts, so a missing adapter is reported by `setupDevice`.
 */
export class WebGPUAccelerator extends Accelerator {
  readonly name: string = "webgpu";
  readonly deviceType = "webgpu";
  readonly installHint = "npm install webgpu @tensorflow/tfjs-backend-webgpu@4.22.0 (and a Vulkan driver)";

  get backendName(): "webgpu" {
    return "webgpu";
  }

  isAvailable(): boolean {
    return packageAvailable("webgpu") && packageAvailable("@tensorflow/tfjs-backend-webgpu");
  }
}
