export { Accelerator, type AcceleratorName, type DeviceIndices } from "./accelerator.ts";
export { CPUAccelerator } from "./cpu.ts";
export { WASMAccelerator } from "./wasm.ts";
export { WebGPUAccelerator } from "./webgpu.ts";
export { CUDAAccelerator } from "./cuda.ts";
export { AcceleratorRegistry, ACCELERATOR_REGISTRY } from "./registry.ts";
