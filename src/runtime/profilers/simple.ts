import { formatPyNumber, pyFloat } from "../utilities/python_format.ts";
import { Profiler } from "./profiler.ts";
import { checkOptionKeys, optionKeys } from "../utilities/option_keys.ts";

export interface SimpleProfilerOptions {
  /** Folder of the report file (default: the Trainer's log directory when `filename` is given). */
  dirpath?: string | null;
  /** Write the report to `<dirpath>/<stage>-<filename>.txt` instead of printing it. */
  filename?: string | null;
  /** Also report the number of calls and each action's share of the run (default true). */
  extended?: boolean;
}

/** Checked in the constructor (utilities/option_keys.ts). */
const OPTION_KEYS = optionKeys<SimpleProfilerOptions>()(["dirpath", "filename", "extended"]);

/**
 * `SimpleProfiler` (`profiler: "simple"`): wall-clock time per action, reported as Lightning's
 * table — mean duration, number of calls, total time and percentage of the whole run, sorted by
 * percentage, headed `FIT Profiler Report` (or VALIDATE/TEST/PREDICT).
 */
export class SimpleProfiler extends Profiler {
  readonly extended: boolean;
  /** Every recorded duration in seconds, by action. */
  readonly recordedDurations = new Map<string, number[]>();
  private readonly currentActions = new Map<string, number>();
  private startTime = performance.now();

  constructor(options: SimpleProfilerOptions = {}) {
    super(options.dirpath ?? null, options.filename ?? null);
    checkOptionKeys(options, OPTION_KEYS, "SimpleProfiler");
    this.extended = options.extended ?? true;
  }

  override setup(stage: string, localRank: number | null = null, logDir: string | null = null): void {
    super.setup(stage, localRank, logDir);
    this.startTime = performance.now();
  }

  override start(action: string): void {
    if (this.currentActions.has(action)) {
      throw new Error(`Attempted to start ${action} which has already started.`);
    }
    this.currentActions.set(action, performance.now());
  }

  override stop(action: string): void {
    const end = performance.now();
    const begin = this.currentActions.get(action);
    if (begin === undefined) {
      throw new Error(`Attempting to stop recording an action (${action}) which was never started.`);
    }
    this.currentActions.delete(action);
    let list = this.recordedDurations.get(action);
    if (!list) {
      list = [];
      this.recordedDurations.set(action, list);
    }
    list.push((end - begin) / 1000);
  }

  /** [action, mean, calls, total, percentage] rows sorted by percentage, the call count and the run's duration. */
  makeReportExtended(): { rows: Array<[string, number, number, number, number]>; totalCalls: number; totalDuration: number } {
    const totalDuration = (performance.now() - this.startTime) / 1000;
    const rows: Array<[string, number, number, number, number]> = [];
    for (const [action, durations] of this.recordedDurations) {
      const sum = durations.reduce((a, b) => a + b, 0);
      rows.push([action, sum / durations.length, durations.length, sum, (100 * sum) / totalDuration]);
    }
    rows.sort((a, b) => b[4] - a[4]);
    const totalCalls = rows.reduce((n, r) => n + r[2], 0);
    return { rows, totalCalls, totalDuration };
  }

  override summary(): string {
    const sep = "\n";
    let out = this.stage ? `${this.stage.toUpperCase()} ` : "";
    out += `Profiler Report${sep}`;
    if (this.recordedDurations.size === 0) return out + sep;
    const maxKey = Math.max(...[...this.recordedDurations.keys()].map((k) => k.length), "Action".length, "Total".length);
    if (this.extended) {
      const row = (action: string, mean: string, calls: string, total: string, per: string) =>
        `${sep}|  ${action.padEnd(maxKey)}\t|  ${mean.padEnd(15)}\t|  ${calls.padEnd(15)}\t|  ${total.padEnd(15)}\t|  ${per.padEnd(15)}\t|`;
      const header = row("Action", "Mean duration (s)", "Num calls", "Total time (s)", "Percentage %");
      const line = `${sep}${"-".repeat(expandTabs(header.slice(sep.length)).length)}`;
      out += line + header + line;
      const { rows, totalCalls, totalDuration } = this.makeReportExtended();
      out += row("Total", "-", `${totalCalls}`, format5(totalDuration), "100 %");
      out += line;
      for (const [action, mean, calls, total, per] of rows) {
        out += row(action, format5(mean), `${calls}`, format5(total), format5(per));
      }
      out += line;
    } else {
      const row = (action: string, mean: string, total: string) =>
        `${sep}|  ${action.padEnd(maxKey)}\t|  ${mean.padEnd(15)}\t|  ${total.padEnd(15)}\t|`;
      const header = row("Action", "Mean duration (s)", "Total time (s)");
      const line = `${sep}${"-".repeat(expandTabs(header.slice(sep.length)).length)}`;
      out += line + header + line;
      const rows = [...this.recordedDurations].map(([a, d]) => {
        const sum = d.reduce((x, y) => x + y, 0);
        return [a, sum / d.length, sum] as const;
      });
      rows.sort((a, b) => b[2] - a[2]);
      for (const [action, mean, total] of rows) out += row(action, format5(mean), format5(total));
      out += line;
    }
    return out + sep;
  }

  override teardown(stage: string | null): void {
    super.teardown(stage);
    this.recordedDurations.clear();
    this.currentActions.clear();
  }
}

/** Python's `str.expandtabs()` (tab stops every 8 columns), for the width of the separator line. */
function expandTabs(s: string): string {
  let out = "";
  for (const ch of s) {
    if (ch === "\t") out += " ".repeat(8 - (out.length % 8));
    else out += ch;
  }
  return out;
}

/** Lightning's report writes its numbers as `f"{x:.5}"`. */
function format5(x: number): string {
  return formatPyNumber(pyFloat(x), ".5");
}
