/**
 * One `lit-migrate` run: expand the inputs, migrate each file, write (or diff) the outputs,
 * optionally verify, and report.
 */
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import { basename, dirname, join, resolve } from "node:path";
import { createTwoFilesPatch } from "diff";
import { migrate, type MigrationTarget } from "../codemods/index.ts";
import { displayPath, expandInputs, notAScript, outputPathFor, planOutput, type InputEntry, type InputFile, type OutputPlan } from "./files.ts";
import { inPlaceRefusal } from "./git.ts";
import { colorsFor, type CliIo } from "./io.ts";
import { countStatuses, exitCodeOf, failureLine, formatCounts, formatFileSummary, toJson, type FileReport } from "./report.ts";
import { verifyMigration } from "./verify.ts";
import { moduleFormatOf } from "./module_format.ts";

export interface RunOptions {
  paths: string[];
  to: MigrationTarget;
  out?: string;
  inPlace: boolean;
  force: boolean;
  dryRun: boolean;
  diff: boolean;
  json: boolean;
  verify: boolean;
  /** Run the full TypeScript check of each output (typecheck.ts; `--verify` runs it too). */
  typecheck: boolean;
  steps: number;
  className?: string;
  quiet: boolean;
}

export async function runMigration(options: RunOptions, io: CliIo): Promise<number> {
  const out = colorsFor(io, "stdout");
  const err = colorsFor(io, "stderr");
  const entries = await expandInputs(options.paths, io.cwd);
  const files = entries.filter((e): e is Extract<InputEntry, { kind: "file" }> => e.kind === "file");
  const reports: FileReport[] = [];
  const plan = planOutput(options.paths, files, options.out, options.inPlace, options.to, io.cwd);
  const print = (r: FileReport) => {
    if (options.json) return;
    if (r.status === "failed") {
      io.stderr.write(`${err.red("✖")} ${failureLine(r)}\n`);
      return;
    }
    if (r.diff && (options.diff || options.dryRun)) io.stdout.write(r.diff);
    if (!options.quiet) io.stdout.write(`${formatFileSummary(r, out, options.dryRun || options.diff)}\n`);
  };
  // A few files in flight: while one is formatted (in prettier's worker) the next is migrated.
  // --verify runs training scripts, one file at a time. Reports come out in input order.
  const failed = (file: string, reason: string): FileReport => ({ file, status: "failed", reason, line: 1, col: 1, todos: [], edits: {}, notes: [], written: false });
  const tasks = entries.map(
    (entry) => async (): Promise<FileReport> => {
      if (entry.kind === "problem") return failed(entry.display, entry.reason);
      try {
        return await migrateFile(entry, options, plan, io);
      } catch (error) {
        // A write that fails (permissions, a full disk) fails this file, not the run.
        return failed(entry.display, (error as Error).message);
      }
    },
  );
  await runInOrder(tasks, options.verify ? 1 : 3, (report) => {
    reports.push(report);
    print(report);
  });
  // A directory that holds no training script at all is a mistaken path, not "nothing to do".
  for (const dir of directoriesWithoutScripts(options.paths, io.cwd, entries, reports)) {
    const report = failed(dir.display, dir.files === 0 ? "no TypeScript files in this directory" : `no training script in this directory (${dir.files} TypeScript file${dir.files === 1 ? "" : "s"}, none calls backward())`);
    reports.push(report);
    print(report);
  }
  if (options.json) {
    io.stdout.write(toJson(reports, options.to));
  } else if (!options.quiet) {
    io.stdout.write(`\n${formatCounts(countStatuses(reports), out)}\n`);
  }
  return exitCodeOf(reports);
}

/** Directory arguments none of whose files trains (or none at all). */
function directoriesWithoutScripts(paths: string[], cwd: string, entries: InputEntry[], reports: FileReport[]): { display: string; files: number }[] {
  const byRoot = new Map<string, { display: string; files: number; scripts: number }>();
  for (const p of paths) {
    const abs = resolve(cwd, p);
    if (existsSync(abs) && statSync(abs).isDirectory()) byRoot.set(abs, { display: p, files: 0, scripts: 0 });
  }
  entries.forEach((e, i) => {
    if (e.kind !== "file" || e.explicit) return;
    const dir = byRoot.get(e.root);
    if (!dir) return;
    dir.files++;
    if (!reports[i]!.noTraining) dir.scripts++;
  });
  return [...byRoot.values()].filter((d) => d.scripts === 0);
}

async function migrateFile(file: InputFile, options: RunOptions, plan: OutputPlan, io: CliIo): Promise<FileReport> {
  const report: FileReport = { file: file.display, status: "failed", todos: [], edits: {}, notes: [], written: false };
  const fail = (reason: string, line = 1, col = 1): FileReport => ({ ...report, status: "failed", reason, line, col });
  if (file.explicit) {
    const why = notAScript(file);
    if (why) return fail(why);
  }
  let source: string;
  try {
    source = readFileSync(file.path, "utf8");
  } catch (error) {
    return fail(`cannot read the file: ${(error as Error).message}`);
  }
  const outputPath = outputPathFor(file, plan);
  if (!plan.inPlace && outputPath === file.path) return fail("the output path is the input file; use --in-place to rewrite it");
  const result = await migrate(source, { to: options.to, fileName: file.path, className: options.className, moduleFormat: moduleFormatOf(file.path) });
  if (result.status === "unchanged") return { ...report, status: "unchanged", reason: result.reason };
  if (result.status === "failed") {
    // A directory holds helpers and already-migrated files too: those are not failures.
    if (result.notApplicable && !file.explicit) return { ...report, status: "unchanged", reason: result.reason, noTraining: result.noTraining };
    return fail(result.reason, result.position.line, result.position.col);
  }
  const shownOutput = displayPath(outputPath, io.cwd);
  const needsHuman = result.status === "needs-human";
  const migrated: FileReport = {
    ...report,
    status: result.status,
    ...(needsHuman ? { reason: result.reason, line: result.position.line, col: result.position.col } : {}),
    output: shownOutput,
    todos: result.todos,
    edits: result.counts,
    notes: result.notes,
  };
  if ((options.typecheck || options.verify) && !needsHuman) {
    // The full compiler check (typecheck.ts): errors the input did not have are ours.
    const { typecheckFiles } = await import("./typecheck.ts");
    // Checked as a file beside the input (as --verify runs it): its imports resolve as the input's do.
    const besideInput = dirname(outputPath) === dirname(file.path) && outputPath !== file.path ? outputPath : join(dirname(file.path), `.${basename(file.path)}.check.ts`);
    const checked = typecheckFiles(new Map([[file.path, source], [besideInput, result.output]]));
    const [inputProblems, outputProblems] = [...checked.values()];
    if (outputProblems!.length > inputProblems!.length) {
      const [p] = outputProblems!;
      return fail(`internal error: the migrated output does not type-check at ${shownOutput}:${p!.line}:${p!.col}: ${p!.message} (a lit-migrate bug; please report it with the input script)`);
    }
    migrated.notes.push(inputProblems!.length > 0 ? `type-checked: no error the input did not have` : "type-checked: no errors");
  }
  const dryRun = options.dryRun || options.diff;
  // (without the diff library's "=====" banner line, so the output reads like `git diff`)
  if (dryRun) migrated.diff = createTwoFilesPatch(file.display, shownOutput, source, result.output).replace(/^=+\n/, "");
  if (!dryRun) {
    if (plan.inPlace && !options.force) {
      const refusal = inPlaceRefusal(file.path);
      if (refusal) return fail(refusal);
    }
    if (!plan.inPlace && existsSync(outputPath) && !options.force && readFileSync(outputPath, "utf8") !== result.output) {
      return fail(`${shownOutput} already exists and differs; pass --force to overwrite it`);
    }
    writeAtomically(outputPath, result.output);
    migrated.written = true;
  }
  if (options.verify && !needsHuman) {
    // The migrated script runs from beside the input, whatever --out says: it keeps the input's
    // relative imports and package resolution (an output under /tmp would find neither
    // `lightning-ts` nor an ESM package scope). A temporary copy is removed afterwards.
    const original = plan.inPlace ? writeTemporary(file.path, source) : file.path;
    const besideInput = migrated.written && dirname(outputPath) === dirname(file.path);
    const script = besideInput ? outputPath : writeTemporary(file.path, result.output);
    try {
      migrated.verify = await verifyMigration(original, script, options.steps, io.cwd, io.env, result.traceScale ?? 1);
    } finally {
      if (script !== outputPath) rmSync(script, { force: true });
      if (original !== file.path) rmSync(original, { force: true });
    }
  }
  return migrated;
}

/** Runs tasks with at most `limit` in flight, handing results to `done` in task order. */
async function runInOrder<T>(tasks: (() => Promise<T>)[], limit: number, done: (result: T) => void): Promise<void> {
  const results = new Array<Promise<T>>(tasks.length);
  let started = 0;
  const startNext = () => {
    if (started < tasks.length) {
      const i = started++;
      results[i] = tasks[i]!();
    }
  };
  for (let i = 0; i < limit; i++) startNext();
  for (let i = 0; i < tasks.length; i++) {
    const result = await results[i]!;
    startNext();
    done(result);
  }
}

function writeAtomically(path: string, text: string): void {
  mkdirSync(dirname(path), { recursive: true });
  const tmp = join(dirname(path), `.${basename(path)}.${process.pid}.tmp`);
  writeFileSync(tmp, text);
  renameSync(tmp, path);
}

function writeTemporary(near: string, text: string): string {
  mkdirSync(dirname(near), { recursive: true });
  const path = join(dirname(near), `.${basename(near).replace(/(\.[cm]?tsx?)$/, `.verify-${process.pid}$1`)}`);
  writeFileSync(path, text);
  return path;
}
