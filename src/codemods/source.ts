/**
 * Parsing. One in-memory ts-morph project per script: no tsconfig, no file system, no lib files
 * and no module resolution (`lightning-ts/torch` need not be installed to migrate a script), and
 * no type checker (names are bound by the analysis itself, see `analysis/references.ts`).
 */
import { Project, ts } from "./morph.ts";
import type { SourceFile, ts as tsTypes } from "ts-morph";
import { MigrationError, positionAt } from "./errors.ts";

export interface ParsedScript {
  project: Project;
  sourceFile: SourceFile;
  text: string;
}

export function parseScript(text: string, fileName = "script.ts"): ParsedScript {
  const project = new Project({
    useInMemoryFileSystem: true,
    skipLoadingLibFiles: true,
    compilerOptions: {
      noLib: true,
      noResolve: true,
      target: ts.ScriptTarget.ES2022,
      module: ts.ModuleKind.ESNext,
      jsx: fileName.endsWith(".tsx") ? ts.JsxEmit.Preserve : undefined,
    },
  });
  // The in-memory file keeps the script's extension so `.tsx` parses as TSX.
  const ext = /\.(tsx|mts|cts|ts)$/.exec(fileName)?.[1] ?? "ts";
  const sourceFile = project.createSourceFile(`/script.${ext}`, text, { overwrite: true });
  // The parser's own diagnostics: building a program just to ask for them costs more than the
  // parse. `parseDiagnostics` is internal to TypeScript but has been there since 1.x; if it ever
  // goes, the program's syntactic diagnostics are the same list.
  const parseDiagnostics = (sourceFile.compilerNode as unknown as { parseDiagnostics?: tsTypes.Diagnostic[] }).parseDiagnostics;
  const [first] = parseDiagnostics ?? project.getProgram().compilerObject.getSyntacticDiagnostics(sourceFile.compilerNode);
  if (first) {
    const message = ts.flattenDiagnosticMessageText(first.messageText, " ");
    throw new MigrationError(`syntax error: ${message}`, positionAt(text, first.start ?? 0));
  }
  return { project, sourceFile, text };
}
