/**
 * What `lit-migrate` prints: a coloured summary per file (what moved where, how many device
 * moves and backward calls were rewritten, the TODOs as `file:line:col  reason`), the counts at
 * the end, or the same as JSON with `--json`.
 */
import type { ChalkInstance } from "chalk";
import type { EditCounts, MigrationTodo } from "../codemods/index.ts";
import type { VerifyResult } from "./verify.ts";

/** "needs-human": the script trains in a shape the target does not express yet; written as the input plus one TODO. */
export type FileStatus = "migrated" | "needs-human" | "unchanged" | "failed";

export interface FileReport {
  /** Input path as shown (relative to the working directory). */
  file: string;
  status: FileStatus;
  /** Output path as shown, when there is (or, for a dry run, would be) one. */
  output?: string;
  reason?: string;
  /** Where a failure is, in the input. */
  line?: number;
  col?: number;
  /** TODO markers, positions in the output file. */
  todos: MigrationTodo[];
  edits: Partial<EditCounts>;
  notes: string[];
  written: boolean;
  /** The file trains nothing (no backward call): not a script to migrate. */
  noTraining?: boolean;
  diff?: string;
  verify?: VerifyResult;
}

export interface Counts {
  migrated: number;
  "needs-human": number;
  unchanged: number;
  failed: number;
}

export function countStatuses(reports: FileReport[]): Counts {
  const c: Counts = { migrated: 0, "needs-human": 0, unchanged: 0, failed: 0 };
  for (const r of reports) c[r.status]++;
  return c;
}

/** 0 migrated or nothing to do, 1 migrated with TODOs or needing a human, 2 could not migrate, 3 --verify failed. */
export function exitCodeOf(reports: FileReport[]): number {
  let code = 0;
  for (const r of reports) {
    if (r.verify && !r.verify.ok) code = Math.max(code, 3);
    else if (r.status === "failed") code = Math.max(code, 2);
    else if (r.status === "needs-human" || r.todos.length > 0) code = Math.max(code, 1);
  }
  return code;
}

export function failureLine(r: FileReport): string {
  return `${r.file}:${r.line ?? 1}:${r.col ?? 1}  ${r.reason}`;
}

const plural = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;

export function formatFileSummary(r: FileReport, c: ChalkInstance, dryRun: boolean): string {
  const lines: string[] = [];
  if (r.status === "failed") return "";
  if (r.status === "unchanged") {
    lines.push(`${c.dim("=")} ${r.file}  ${c.dim(r.reason ?? "nothing to do")}`);
    return lines.join("\n");
  }
  if (r.status === "needs-human") {
    const where = r.output && r.output !== r.file ? ` → ${r.output}` : "";
    lines.push(`${c.yellow("?")} ${c.bold(r.file)}${where}  ${c.yellow("needs a human")}${dryRun ? c.dim("  (dry run: not written)") : ""}`);
    for (const note of r.notes) lines.push(`    ${note}`);
    for (const t of r.todos) lines.push(`    ${c.yellow("TODO")} ${r.output ?? r.file}:${t.line}:${t.col}  ${t.reason}`);
    return lines.join("\n");
  }
  const mark = r.todos.length > 0 ? c.yellow("!") : c.green("✔");
  const where = r.output && r.output !== r.file ? ` → ${c.bold(r.output)}` : c.dim(" (in place)");
  const todoNote = r.todos.length > 0 ? c.yellow(`  ${plural(r.todos.length, "TODO")}`) : "";
  lines.push(`${mark} ${c.bold(r.file)}${where}${dryRun ? c.dim("  (dry run: not written)") : ""}${todoNote}`);
  for (const note of r.notes) lines.push(`    ${note}`);
  const e = r.edits;
  const removed: string[] = [];
  if (e.deviceVariablesRemoved) removed.push(plural(e.deviceVariablesRemoved, "device variable"));
  if (e.deviceParametersRemoved) removed.push(plural(e.deviceParametersRemoved, "device parameter"));
  if (e.deviceConditionalsRemoved) removed.push(plural(e.deviceConditionalsRemoved, "device if-block"));
  lines.push(`    device moves stripped: ${c.cyan(String(e.deviceMovesStripped ?? 0))}${removed.length ? c.dim(` (also removed: ${removed.join(", ")})`) : ""}`);
  lines.push(`    backward calls rewritten: ${c.cyan(String(e.backwardRewritten ?? 0))}`);
  if (r.verify) {
    const v = r.verify;
    lines.push(
      v.ok
        ? `    ${c.green("verify ok")}: ${v.compared} losses, largest relative difference ${v.maxRelativeDifference?.toExponential(2)}` +
            (v.traceScale !== 1 ? ` (migrated losses are traced before the Trainer's accumulation division: compared with ${v.traceScale}x the original's)` : "")
        : `    ${c.red("verify failed")}: ${v.reason}`,
    );
  }
  for (const t of r.todos) lines.push(`    ${c.yellow("TODO")} ${r.output ?? r.file}:${t.line}:${t.col}  ${t.reason}`);
  return lines.join("\n");
}

export function formatCounts(counts: Counts, c: ChalkInstance): string {
  const parts = [
    c.green(`${counts.migrated} migrated`),
    ...(counts["needs-human"] > 0 ? [c.yellow(`${counts["needs-human"]} need${counts["needs-human"] === 1 ? "s" : ""} a human`)] : []),
    c.dim(`${counts.unchanged} unchanged`),
    counts.failed > 0 ? c.red(`${counts.failed} failed`) : `${counts.failed} failed`,
  ];
  return parts.join(", ");
}

export function toJson(reports: FileReport[], to: string): string {
  const files = reports.map((r) => ({
    file: r.file,
    status: r.status,
    ...(r.output !== undefined ? { output: r.output } : {}),
    ...(r.reason !== undefined ? { reason: r.reason } : {}),
    ...(r.status === "failed" || r.status === "needs-human" ? { line: r.line ?? 1, col: r.col ?? 1 } : {}),
    todos: r.todos,
    edits: r.edits,
    notes: r.notes,
    written: r.written,
    ...(r.diff !== undefined ? { diff: r.diff } : {}),
    ...(r.verify !== undefined ? { verify: r.verify } : {}),
  }));
  return `${JSON.stringify({ to, files, counts: countStatuses(reports), exitCode: exitCodeOf(reports) }, null, 2)}\n`;
}
