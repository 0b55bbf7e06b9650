/**
 * `lit-migrate --typecheck`: the full TypeScript check of a migrated output, as the user's own
 * compiler would run it, without writing anything: the output is given to the compiler as the
 * file it will be (beside its input, so `lightning-ts` and relative imports resolve the same),
 * under the nearest tsconfig.json's options (or strict ES2022 defaults).
 *
 * Not on by default: the program for one script loads ~950 declaration and source files
 * (@types/node, tfjs-core, lightning-ts), 2–3 s cold on this machine against ~0.35 s for the
 * whole migration; the default self-check (codemods/self-check.ts) finds the errors the
 * transforms can make in a few milliseconds. `--verify` runs it too (it runs the scripts anyway).
 */
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import type { ts as Ts } from "ts-morph";
import { ts as bundledTypeScript } from "../codemods/morph.ts";
import { runningFromSources, SOURCE_CONDITION } from "./source_condition.ts";

type TypeScript = typeof Ts;

/**
 * The project's own TypeScript (resolved from the checked file's folder), as its `tsc` would
 * check; else the one ts-morph bundles, so lightning-ts does not install a second compiler.
 */
function typescriptFor(path: string): TypeScript {
  try {
    return createRequire(join(dirname(path), "noop.js"))("typescript") as TypeScript;
  } catch {
    return bundledTypeScript;
  }
}

export interface TypeProblem {
  line: number;
  col: number;
  message: string;
}

/**
 * The compiler's errors in each file (given as path → text, checked as those files; at most
 * `limit` each), from one program: the input and its output are checked together, so that an
 * output's errors can be told from what the input already had.
 */
export function typecheckFiles(files: ReadonlyMap<string, string>, limit = 5): Map<string, TypeProblem[]> {
  const [first] = files.keys();
  const ts = typescriptFor(first!);
  const options = compilerOptions(ts, first!);
  const host = ts.createCompilerHost(options, true);
  const readFile = host.readFile.bind(host);
  const fileExists = host.fileExists.bind(host);
  const getSourceFile = host.getSourceFile.bind(host);
  host.readFile = (name) => files.get(name) ?? readFile(name);
  host.fileExists = (name) => files.has(name) || fileExists(name);
  host.getSourceFile = (name, language, onError, create) => {
    const text = files.get(name);
    return text !== undefined ? ts.createSourceFile(name, text, language, true) : getSourceFile(name, language, onError, create);
  };
  const program = ts.createProgram([...files.keys()], options, host);
  const result = new Map<string, TypeProblem[]>();
  for (const path of files.keys()) {
    const file = program.getSourceFile(path)!;
    const diagnostics = [...program.getSyntacticDiagnostics(file), ...program.getSemanticDiagnostics(file)];
    result.set(
      path,
      diagnostics.slice(0, limit).map((d) => {
        const { line, character } = file.getLineAndCharacterOfPosition(d.start ?? 0);
        return { line: line + 1, col: character + 1, message: ts.flattenDiagnosticMessageText(d.messageText, " ") };
      }),
    );
  }
  return result;
}

function compilerOptions(ts: TypeScript, path: string): Ts.CompilerOptions {
  const defaults: Ts.CompilerOptions = {
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.ESNext,
    moduleResolution: ts.ModuleResolutionKind.Bundler,
    strict: true,
    skipLibCheck: true,
    esModuleInterop: true,
  };
  const configPath = ts.findConfigFile(dirname(path), ts.sys.fileExists);
  if (!configPath) return withSourceCondition({ ...defaults, noEmit: true });
  const config = ts.readConfigFile(configPath, ts.sys.readFile);
  if (config.error) return withSourceCondition({ ...defaults, noEmit: true });
  const parsed = ts.parseJsonConfigFileContent(config.config, ts.sys, dirname(configPath));
  // Only the options: the output is checked on its own, not the project's other files.
  return withSourceCondition({ ...parsed.options, noEmit: true, skipLibCheck: true });
}

/** Run from this repository's sources, `lightning-ts` resolves to them here too (source_condition.ts). */
function withSourceCondition(options: Ts.CompilerOptions): Ts.CompilerOptions {
  if (!runningFromSources()) return options;
  return { ...options, customConditions: [...(options.customConditions ?? []), SOURCE_CONDITION] };
}
