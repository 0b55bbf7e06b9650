import { isKernelProfilerRecording, kernelProfileTable, startKernelProfiler, stopKernelProfiler } from "../../torch/profiler/index.ts";
import { Profiler } from "./profiler.ts";
import { checkOptionKeys, optionKeys } from "../utilities/option_keys.ts";

export interface KernelProfilerOptions {
  /** Folder of the report file (default: the Trainer's log directory when `filename` is given). */
  dirpath?: string | null;
  /** Write the report to `<dirpath>/<stage>-<filename>.txt` instead of printing it. */
  filename?: string | null;
  /** Rows of the table (default: every kernel). */
  rowLimit?: number;
}

const OPTION_KEYS = optionKeys<KernelProfilerOptions>()(["dirpath", "filename", "rowLimit"]);

/**
 * `KernelProfiler` (`profiler: "kernel"`, also `"pytorch"`, whose per-operator table it stands
 * in for): time per tfjs kernel over a whole stage, reported as PyTorch's profiler table —
 * self and total time, calls, average — with the share of the stage spent outside kernels
 * (the torch layer's dispatch, the tape, the loops, hooks and logging).
 */
export class KernelProfiler extends Profiler {
  readonly rowLimit: number;
  private report = "";

  constructor(options: KernelProfilerOptions = {}) {
    super(options.dirpath ?? null, options.filename ?? null);
    checkOptionKeys(options, OPTION_KEYS, "KernelProfiler");
    this.rowLimit = options.rowLimit ?? Infinity;
  }

  override setup(stage: string, localRank: number | null = null, logDir: string | null = null): void {
    super.setup(stage, localRank, logDir);
    this.report = "";
    if (!isKernelProfilerRecording()) startKernelProfiler();
  }

  // Lightning's actions are not kernels: the table is per kernel.
  override start(_action: string): void {}
  override stop(_action: string): void {}

  override summary(): string {
    if (isKernelProfilerRecording()) {
      this.report = kernelProfileTable(stopKernelProfiler(), this.rowLimit);
    }
    return `${this.stage ? `${this.stage.toUpperCase()} ` : ""}Profiler Report (kernels)\n${this.report}`;
  }

  override teardown(stage: string | null): void {
    if (isKernelProfilerRecording()) stopKernelProfiler();
    super.teardown(stage);
  }
}
