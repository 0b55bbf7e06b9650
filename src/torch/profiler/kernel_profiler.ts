/**
 * A per-kernel profiler (PyTorch's `torch.profiler` table, at tfjs's kernel level): while it
 * records, every kernel of the backend is timed; the report lists each kernel's self time (its
 * own, without the kernels it ran inside: a shim's transposes), total time, calls and average,
 * sorted by self time, and what the recorded span spent outside kernels — dispatch, the
 * autograd tape, step scopes, the script's own JS. WASM and the pure-JS backend run kernels
 * synchronously, so the times are the kernels' own.
 *
 * `LIGHTNING_TS_PROFILE=kernel` profiles a whole plain script and prints the table on exit;
 * the Trainer's `profiler: "kernel"` reports each stage.
 */
import type { KernelConfig } from "@tensorflow/tfjs-core";
import { tf } from "../tf.ts";
import { KernelWrapping } from "../backends/kernels/kernel_wrapping.ts";

export interface KernelStat {
  name: string;
  calls: number;
  /** Milliseconds in this kernel, minus the kernels it ran. */
  selfMs: number;
  /** Milliseconds in this kernel, all included. */
  totalMs: number;
}

export interface KernelProfile {
  /** By kernel name. */
  stats: KernelStat[];
  /** Wall-clock milliseconds of the recorded span. */
  wallMs: number;
  /** Milliseconds inside kernels (outermost ones: no double counting). */
  kernelMs: number;
}

interface Recorder {
  stats: Map<string, KernelStat>;
  /** Time spent in child kernels, per open kernel. */
  childMs: number[];
  startedAt: number;
  kernelMs: number;
}

let recorder: Recorder | null = null;

const wrapping = new KernelWrapping((config: KernelConfig) => {
  const inner = config.kernelFunc;
  const name = config.kernelName;
  return (args) => {
    const r = recorder;
    if (r === null) return inner(args);
    r.childMs.push(0);
    const t0 = performance.now();
    try {
      return inner(args);
    } finally {
      const dt = performance.now() - t0;
      const child = r.childMs.pop()!;
      let stat = r.stats.get(name);
      if (!stat) {
        stat = { name, calls: 0, selfMs: 0, totalMs: 0 };
        r.stats.set(name, stat);
      }
      stat.calls++;
      stat.totalMs += dt;
      stat.selfMs += dt - child;
      if (r.childMs.length > 0) r.childMs[r.childMs.length - 1]! += dt;
      else r.kernelMs += dt;
    }
  };
});

/** Starts recording kernel times (on the current backend). */
export function startKernelProfiler(): void {
  if (recorder !== null) throw new Error("the kernel profiler is already recording");
  wrapping.ensure(tf.getBackend());
  recorder = { stats: new Map(), childMs: [], startedAt: performance.now(), kernelMs: 0 };
}

/** Whether the kernel profiler is recording. */
export function isKernelProfilerRecording(): boolean {
  return recorder !== null;
}

/** Stops recording; returns what was recorded. */
export function stopKernelProfiler(): KernelProfile {
  const r = recorder;
  if (r === null) throw new Error("the kernel profiler is not recording");
  recorder = null;
  const stats = [...r.stats.values()].sort((a, b) => b.selfMs - a.selfMs);
  return { stats, wallMs: performance.now() - r.startedAt, kernelMs: r.kernelMs };
}

function fmtTime(ms: number): string {
  if (ms >= 1000) return `${(ms / 1000).toFixed(3)}s`;
  if (ms >= 1) return `${ms.toFixed(3)}ms`;
  return `${(ms * 1000).toFixed(3)}us`;
}

/**
 * The report, laid out as PyTorch's `key_averages().table(sort_by="self_cpu_time_total")`, plus
 * the time outside kernels. `rowLimit` keeps the first rows (all by default).
 */
export function kernelProfileTable(profile: KernelProfile, rowLimit = Infinity): string {
  const totalSelf = profile.stats.reduce((s, k) => s + k.selfMs, 0);
  const headers = ["Name", "Self CPU %", "Self CPU", "CPU total %", "CPU total", "CPU time avg", "# of Calls"];
  const rows = profile.stats.slice(0, rowLimit).map((k) => [
    k.name,
    `${((100 * k.selfMs) / totalSelf).toFixed(2)}%`,
    fmtTime(k.selfMs),
    `${((100 * k.totalMs) / totalSelf).toFixed(2)}%`,
    fmtTime(k.totalMs),
    fmtTime(k.totalMs / k.calls),
    String(k.calls),
  ]);
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)) + 2);
  const line = widths.map((w) => "-".repeat(w)).join("  ");
  const fmt = (cells: string[]) => cells.map((c, i) => c.padStart(widths[i]!)).join("  ");
  const outside = profile.wallMs - profile.kernelMs;
  return [
    line,
    fmt(headers),
    line,
    ...rows.map(fmt),
    line,
    `Self CPU time total: ${fmtTime(totalSelf)}`,
    `Wall time recorded: ${fmtTime(profile.wallMs)}; outside kernels (dispatch, tape, JS): ${fmtTime(outside)} ` +
      `(${((100 * outside) / profile.wallMs).toFixed(1)}%)`,
    "",
  ].join("\n");
}

/** `LIGHTNING_TS_PROFILE=kernel`: the whole process, reported on stderr at exit. */
export function startProfilerFromEnvironment(): void {
  const value = process.env.LIGHTNING_TS_PROFILE;
  if (value === undefined || value === "") return;
  if (value !== "kernel") {
    process.emitWarning(`LIGHTNING_TS_PROFILE=${value} is not a profiler; the one there is: kernel`);
    return;
  }
  startKernelProfiler();
  process.on("exit", () => {
    if (recorder !== null) process.stderr.write(`\nKernel profile (LIGHTNING_TS_PROFILE=kernel, backend ${tf.getBackend()}):\n${kernelProfileTable(stopKernelProfiler(), 30)}`);
  });
}
