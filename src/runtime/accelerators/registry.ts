import { Accelerator, type AcceleratorName } from "./accelerator.ts";
import { CPUAccelerator } from "./cpu.ts";
import { WASMAccelerator } from "./wasm.ts";
import { WebGPUAccelerator } from "./webgpu.ts";
import { CUDAAccelerator } from "./cuda.ts";

interface Entry {
  create: () => Accelerator;
  description: string;
}

/**
 * Accelerators by name (Fabric's `ACCELERATOR_REGISTRY`). The connector looks names up here, so
 * an accelerator registered by a user becomes a valid `accelerator` flag value.
 */
export class AcceleratorRegistry {
  private readonly entries = new Map<string, Entry>();

  register(name: string, create: () => Accelerator, description = ""): void {
    if (this.entries.has(name)) throw new Error(`an accelerator named '${name}' is already registered`);
    this.entries.set(name, { create, description });
  }

  /** Forgets a registration (Fabric's registry is a dict: `del ACCELERATOR_REGISTRY[name]`). */
  remove(name: string): boolean {
    return this.entries.delete(name);
  }

  has(name: string): boolean {
    return this.entries.has(name);
  }

  get(name: string): Accelerator {
    const entry = this.entries.get(name);
    if (!entry) throw new Error(`no accelerator named '${name}'; registered: ${this.names().join(", ")}`);
    return entry.create();
  }

  names(): string[] {
    return [...this.entries.keys()];
  }

  /** The registered accelerators that can run on this machine. */
  available(): string[] {
    return this.names().filter((n) => this.get(n).isAvailable());
  }

  description(name: string): string {
    return this.entries.get(name)?.description ?? "";
  }
}

export const ACCELERATOR_REGISTRY = new AcceleratorRegistry();
const builtins: Array<[AcceleratorName, () => Accelerator, string]> = [
  ["cpu", () => new CPUAccelerator(), "fastest CPU backend installed: tfjs-node, else WASM, else pure JS"],
  ["wasm", () => new WASMAccelerator(), "tfjs WebAssembly backend"],
  ["webgpu", () => new WebGPUAccelerator(), "tfjs WebGPU backend on Dawn (webgpu package)"],
  ["cuda", () => new CUDAAccelerator(), "native TensorFlow with CUDA (@tensorflow/tfjs-node-gpu)"],
];
for (const [name, create, description] of builtins) ACCELERATOR_REGISTRY.register(name, create, description);
