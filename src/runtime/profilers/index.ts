/** Profilers: `profiler: "simple"` or `"kernel"` on the Trainer, or an instance. */
export { Profiler, PassThroughProfiler } from "./profiler.ts";
export { SimpleProfiler, type SimpleProfilerOptions } from "./simple.ts";
export { KernelProfiler, type KernelProfilerOptions } from "./kernel.ts";
