import { packageAvailable } from "../utilities/packages.ts";
import { Accelerator } from "./accelerator.ts";
import { gpuDeviceFilesPresent, probeWebGPUAdapter, softwareAdapterAllowed } from "./webgpu_adapter.ts";

const PACKAGES = ["webgpu", "@tensorflow/tfjs-backend-webgpu", "deasync"];

/**
 * `accelerator: "webgpu"`: tfjs's WebGPU backend on Dawn (the `webgpu` npm package), with
 * `deasync` for synchronous reads (`item()`, see torch/backends/webgpu.ts). Available when the
 * packages are installed and Dawn finds a GPU adapter — a software one (llvmpipe) only when
 * `LIGHTNING_TS_WEBGPU_ALLOW_SOFTWARE=1` allows it (webgpu_adapter.ts).
 */
export class WebGPUAccelerator extends Accelerator {
  readonly name: string = "webgpu";
  readonly deviceType = "webgpu";
  readonly installHint = "npm install webgpu @tensorflow/tfjs-backend-webgpu@4.22.0 deasync (and a Vulkan driver)";

  get backendName(): "webgpu" {
    return "webgpu";
  }

  isAvailable(): boolean {
    return this.unavailableReason() === null;
  }

  /** Why it cannot run here, or null when it can. */
  override unavailableReason(): string | null {
    const missing = PACKAGES.filter((p) => !packageAvailable(p));
    if (missing.length > 0) return `${missing.join(", ")} not installed: ${this.installHint}`;
    const adapter = probeWebGPUAdapter();
    if (!adapter.found) return `${adapter.reason}; install a Vulkan driver (NVIDIA's, or Mesa's)`;
    if (adapter.software && !softwareAdapterAllowed()) {
      return `the only WebGPU adapter is a software one (${adapter.description}), slower than the CPU backends; set LIGHTNING_TS_WEBGPU_ALLOW_SOFTWARE=1 to use it anyway`;
    }
    return null;
  }

  /** For `auto`: worth asking Dawn only where a GPU can exist (or the software adapter is allowed). */
  mayHaveAdapter(): boolean {
    return PACKAGES.every((p) => packageAvailable(p)) && (gpuDeviceFilesPresent() || softwareAdapterAllowed());
  }
}
