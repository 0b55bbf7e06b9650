/**
 * Which files a `lit-migrate` run touches: inputs from files, directories and globs, and the
 * output path of each.
 */
import { existsSync, statSync } from "node:fs";
import { basename, dirname, extname, isAbsolute, join, relative, resolve, sep } from "node:path";
import fg from "fast-glob";

export const TS_EXTENSIONS = [".ts", ".mts", ".cts", ".tsx"];

export interface InputFile {
  /** Absolute path. */
  path: string;
  /** Path as shown to the user (relative to the working directory when inside it). */
  display: string;
  /** Named on the command line (as opposed to found in a directory or by a glob). */
  explicit: boolean;
  /** The directory it was found under, for mirroring into `--out DIR`. */
  root: string;
}

export interface InputProblem {
  display: string;
  reason: string;
}

/** Generated files and what is not a script: never picked up from a directory. */
const IGNORE = ["**/node_modules/**", "**/*.lite.*", "**/*.module.*", "**/*.d.ts", "**/*.d.mts", "**/*.d.cts"];

export function displayPath(path: string, cwd: string): string {
  const rel = relative(cwd, path);
  return rel && !rel.startsWith("..") && !isAbsolute(rel) ? rel : path;
}

/** Files to migrate and paths that name nothing, in command-line order. */
export type InputEntry = ({ kind: "file" } & InputFile) | ({ kind: "problem" } & InputProblem);

export async function expandInputs(args: string[], cwd: string): Promise<InputEntry[]> {
  const entries: InputEntry[] = [];
  const seen = new Set<string>();
  const add = (path: string, explicit: boolean, root: string) => {
    if (seen.has(path)) return;
    seen.add(path);
    entries.push({ kind: "file", path, display: displayPath(path, cwd), explicit, root });
  };
  for (const arg of args) {
    const abs = resolve(cwd, arg);
    if (existsSync(abs)) {
      const stat = statSync(abs);
      if (stat.isDirectory()) {
        const found = await fg(TS_EXTENSIONS.map((e) => `**/*${e}`), { cwd: abs, ignore: IGNORE, absolute: true, onlyFiles: true });
        found.sort().forEach((f) => add(resolve(f), false, abs));
      } else {
        add(abs, true, dirname(abs));
      }
      continue;
    }
    if (fg.isDynamicPattern(arg)) {
      const found = await fg(arg.split(sep).join("/"), { cwd, ignore: IGNORE, absolute: true, onlyFiles: true });
      const scripts = found.filter((f) => TS_EXTENSIONS.includes(extname(f)));
      if (scripts.length === 0) entries.push({ kind: "problem", display: arg, reason: "no TypeScript files match this pattern" });
      scripts.sort().forEach((f) => add(resolve(f), false, cwd));
      continue;
    }
    entries.push({ kind: "problem", display: arg, reason: "no such file or directory" });
  }
  return entries;
}

/** Why an explicitly named file is not a script to migrate, or null. */
export function notAScript(file: InputFile): string | null {
  if (/\.d\.[cm]?ts$/.test(file.path)) return "a declaration file (.d.ts) has no training code";
  if (!TS_EXTENSIONS.includes(extname(file.path))) {
    return `not a TypeScript file (expected ${TS_EXTENSIONS.join(", ")})`;
  }
  return null;
}

/** `train.ts` → `train.lite.ts`. */
export function withSuffix(path: string, suffix: string): string {
  const ext = extname(path);
  return join(dirname(path), `${basename(path, ext)}.${suffix}${ext}`);
}

export interface OutputPlan {
  inPlace: boolean;
  /** `--out`, absolute. */
  out: string | null;
  /** `--out` names a single file (one input file, and the path is not a directory). */
  outIsFile: boolean;
  suffix: string;
}

export function planOutput(args: string[], files: InputFile[], out: string | undefined, inPlace: boolean, suffix: string, cwd: string): OutputPlan {
  const abs = out === undefined ? null : resolve(cwd, out);
  const single = files.length === 1 && files[0]!.explicit && args.length === 1;
  const outIsFile =
    abs !== null && single && !(existsSync(abs) && statSync(abs).isDirectory()) && !/[\\/]$/.test(out!) && extname(abs) !== "";
  return { inPlace, out: abs, outIsFile, suffix };
}

export function outputPathFor(file: InputFile, plan: OutputPlan): string {
  if (plan.inPlace) return file.path;
  if (plan.out === null) return withSuffix(file.path, plan.suffix);
  if (plan.outIsFile) return plan.out;
  return withSuffix(join(plan.out, relative(file.root, file.path)), plan.suffix);
}
