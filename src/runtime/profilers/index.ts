/** Profilers: `profiler: "simple"` on the Trainer, or an instance. */
export { Profiler, PassThroughProfiler } from "./profiler.ts";
export { SimpleProfiler, type SimpleProfilerOptions } from "./simple.ts";
