/**
 * Where the training code lives.
 *
 * Usually the function the script calls at top level (`main({...})`) that trains, directly or
 * through helpers (main → trainEpoch → loss.backward()). When the optimizers are created at top
 * level, the top-level statements are the training code instead (a training function they call
 * in their epoch loop is a helper), and the entry is the run of statements from the first
 * training statement to the last statement that is not a declaration.
 */
import type { CallExpression, SourceFile, Statement } from "ts-morph";
import { MigrationError, positionAt } from "../errors.ts";
import { Node } from "../morph.ts";
import { makeOwnerOf, type Owner } from "./functions.ts";
import type { BackwardCall, DataLoaderConstruction, Entry, LocalFunction, ModelInstance, OptimizerInstance, TrainingLoop } from "./types.ts";

export interface EntryInput {
  sourceFile: SourceFile;
  text: string;
  functions: LocalFunction[];
  ownerOf: (node: Node) => Owner;
  backwardCalls: BackwardCall[];
  models: ModelInstance[];
  optimizers: OptimizerInstance[];
  dataloaders: DataLoaderConstruction[];
}

export function findEntry(input: EntryInput): Entry | null {
  const { functions, ownerOf, backwardCalls, optimizers, text } = input;
  const trainingFunctions = functionsThatTrain(backwardCalls, ownerOf);

  const topLevelCallsOf = (fn: LocalFunction): CallExpression[] => fn.calls.filter((c) => ownerOf(c).kind === "top");
  const optimizersAtTopLevel = optimizers.some((o) => ownerOf(o.construction).kind === "top");
  const candidates = optimizersAtTopLevel ? [] : functions.filter((f) => trainingFunctions.has(f) && topLevelCallsOf(f).length > 0);
  if (candidates.length > 1) {
    const second = candidates[1]!;
    throw new MigrationError(
      `unsupported: two top-level calls train a model (${candidates[0]!.name}() and ${second.name}()); ` +
        `migrate a script with one entry function`,
      positionAt(text, topLevelCallsOf(second)[0]!.getStart()),
    );
  }
  if (candidates.length === 1) return { kind: "function", fn: candidates[0]!, calls: topLevelCallsOf(candidates[0]!) };
  return scriptEntry(input, trainingFunctions);
}

function scriptEntry(input: EntryInput, trainingFunctions: Set<LocalFunction>): Entry | null {
  const { sourceFile, ownerOf } = input;
  const statements = sourceFile.getStatements();
  const trainingIndices = new Set<number>();
  const mark = (n: Node) => {
    if (ownerOf(n).kind === "top") trainingIndices.add(statements.indexOf(topLevelStatementOf(n)));
  };
  input.backwardCalls.forEach((b) => mark(b.call));
  for (const fn of trainingFunctions) [...fn.calls, ...fn.otherReferences].forEach(mark);
  if (trainingIndices.size === 0) return null;
  input.models.forEach((m) => mark(m.declaration));
  input.optimizers.forEach((o) => mark(o.construction));
  input.dataloaders.forEach((d) => mark(d.construction));
  const first = Math.min(...trainingIndices);
  let last = first;
  statements.forEach((s, i) => {
    if (i > first && !isDeclarationStatement(s)) last = i;
  });
  return { kind: "script", statements: statements.slice(first, last + 1) };
}

/**
 * `--to module`: training under a main guard (Python's `if __name__ == "__main__":`) is the
 * guard's body; the module class goes above the guard and the Trainer's code inside it. (`--to
 * lite` keeps the guard around its `run()` call instead.)
 */
export function insideMainGuard(entry: Entry | null): Entry | null {
  if (entry?.kind !== "script" || entry.statements.length !== 1) return entry;
  const body = mainGuardBody(entry.statements[0]!);
  return body ? { kind: "script", statements: body } : entry;
}

/**
 * The statements of `if (import.meta.url === pathToFileURL(process.argv[1]).href) { ... }` (or
 * `require.main === module`), the guard that runs a module's training only when it is the
 * program; null for any other statement.
 */
function mainGuardBody(s: Statement): Statement[] | null {
  if (!Node.isIfStatement(s) || s.getElseStatement()) return null;
  const then = s.getThenStatement();
  const condition = s.getExpression().getText().replace(/\s+/g, "");
  const guard = /^import\.meta\.url===|===import\.meta\.url$|^require\.main===module$|^module===require\.main$/.test(condition);
  return guard && Node.isBlock(then) ? then.getStatements() : null;
}

/** Statements that only declare (and so can stay at top level around the training code). */
export function isDeclarationStatement(s: Node): boolean {
  return (
    Node.isImportDeclaration(s) ||
    Node.isFunctionDeclaration(s) ||
    Node.isClassDeclaration(s) ||
    Node.isInterfaceDeclaration(s) ||
    Node.isTypeAliasDeclaration(s) ||
    Node.isEnumDeclaration(s) ||
    Node.isModuleDeclaration(s) ||
    Node.isExportDeclaration(s) ||
    Node.isExportAssignment(s)
  );
}

/**
 * `--to lite`: the entry is the function that holds the training loop. When the function the
 * script calls only parses arguments and calls one training function (Fabric's train_torch.py:
 * `main()` builds hparams and calls `run(hparams)`), that function becomes run() instead, and
 * its call inside main becomes `new Lite(...).run(...)`.
 */
export function innermostEntry(analysis: {
  entry: Entry | null;
  functions: LocalFunction[];
  backwardCalls: BackwardCall[];
  models: ModelInstance[];
  optimizers: OptimizerInstance[];
  dataloaders: DataLoaderConstruction[];
  trainingLoops: TrainingLoop[];
}): Entry | null {
  let entry = analysis.entry;
  if (entry?.kind !== "function") return entry;
  const ownerOf = makeOwnerOf(analysis.functions);
  const trains = functionsThatTrain(analysis.backwardCalls, ownerOf);
  const ownedBy = (n: Node, fn: LocalFunction) => {
    const o = ownerOf(n);
    return o.kind === "function" && o.fn === fn;
  };
  for (;;) {
    const fn: LocalFunction = entry.fn;
    const holdsTraining =
      analysis.backwardCalls.some((b) => ownedBy(b.call, fn)) ||
      analysis.models.some((m) => ownedBy(m.declaration, fn)) ||
      analysis.optimizers.some((o) => ownedBy(o.construction, fn)) ||
      analysis.dataloaders.some((d) => ownedBy(d.construction, fn)) ||
      // nn_tutorial's fit(epochs, model, lossFunc, opt, trainDl, validDl): everything handed in,
      // the loop its own, the backward in the lossBatch() it calls
      analysis.trainingLoops.some((t) => ownedBy(t.batchLoop, fn));
    if (holdsTraining) return entry;
    const callees = analysis.functions.filter((g) => g !== fn && trains.has(g) && g.calls.some((c) => ownedBy(c, fn)));
    if (callees.length !== 1) return entry;
    const g = callees[0]!;
    if (g.otherReferences.length > 0 || !g.calls.every((c) => ownedBy(c, fn))) return entry;
    entry = { kind: "function", fn: g, calls: g.calls };
  }
}

/**
 * The functions that call backward, and their callers, transitively. A closure passed as a value
 * (`optimizer.step(closure)`) trains where it is written.
 */
function functionsThatTrain(backwardCalls: BackwardCall[], ownerOf: (node: Node) => Owner): Set<LocalFunction> {
  const trains = new Set<LocalFunction>();
  for (const b of backwardCalls) {
    const o = ownerOf(b.call);
    if (o.kind === "function") trains.add(o.fn);
  }
  for (let changed = true; changed; ) {
    changed = false;
    for (const fn of [...trains]) {
      for (const ref of [...fn.calls, ...fn.otherReferences]) {
        const o = ownerOf(ref);
        if (o.kind === "function" && !trains.has(o.fn)) {
          trains.add(o.fn);
          changed = true;
        }
      }
    }
  }
  return trains;
}

/** The statement of the source file that holds `n` (`n` itself when it is one). */
export function topLevelStatementOf(n: Node): Statement {
  let s: Node = n;
  while (!Node.isSourceFile(s.getParentOrThrow())) s = s.getParentOrThrow();
  return s as Statement;
}
