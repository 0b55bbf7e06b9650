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
import { MigrationError, positionAt } from "../errors";
import { Node } from "../morph";
import type { Owner } from "./functions";
import type { BackwardCall, DataLoaderConstruction, Entry, LocalFunction, ModelInstance, OptimizerInstance } from "./types";

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
  const trainingFunctions = new Set<LocalFunction>();
  for (const b of backwardCalls) {
    const o = ownerOf(b.call);
    if (o.kind === "function") trainingFunctions.add(o.fn);
  }
  // Callers of training functions train too.
  for (let changed = true; changed; ) {
    changed = false;
    for (const fn of [...trainingFunctions]) {
      for (const call of fn.calls) {
        const o = ownerOf(call);
        if (o.kind === "function" && !trainingFunctions.has(o.fn)) {
          trainingFunctions.add(o.fn);
          changed = true;
        }
      }
    }
  }

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
  const topStatementOf = (n: Node): Statement => {
    let s: Node = n;
    while (s.getParent() !== sourceFile) s = s.getParentOrThrow();
    return s as Statement;
  };
  const trainingIndices = new Set<number>();
  const mark = (n: Node) => {
    if (ownerOf(n).kind === "top") trainingIndices.add(statements.indexOf(topStatementOf(n)));
  };
  input.backwardCalls.forEach((b) => mark(b.call));
  for (const fn of trainingFunctions) fn.calls.forEach(mark);
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
