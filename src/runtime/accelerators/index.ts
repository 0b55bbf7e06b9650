export { Accelerator, type AcceleratorName, type DeviceIndices } from "./accelerator";
export { CPUAccelerator } from "./cpu";
export { WASMAccelerator } from "./wasm";
export { WebGPUAccelerator } from "./webgpu";
export { CUDAAccelerator } from "./cuda";
export { AcceleratorRegistry, ACCELERATOR_REGISTRY } from "./registry";
