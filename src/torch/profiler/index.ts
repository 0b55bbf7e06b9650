export {
  startKernelProfiler,
  stopKernelProfiler,
  isKernelProfilerRecording,
  kernelProfileTable,
  type KernelProfile,
  type KernelStat,
} from "./kernel_profiler.ts";
