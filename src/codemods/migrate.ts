/**
 * One migration, source text in, result out: parse → analyse → transforms → one splice →
 * prettier. No file system access except prettier's config lookup (by the file's path), so the
 * CLI, the tests and the benchmark all go through here.
 */
import { analyzeScript } from "./analysis/analyze.ts";
import { findHandedInTraining } from "./analysis/handed-in.ts";
import { modelMethodOptimizers } from "./analysis/optimizer-factories.ts";
import { innermostEntry, insideMainGuard } from "./analysis/entry.ts";
import { widenScriptEntry } from "./transforms/lite/optimizer-pairs.ts";
import { trainerClasses, trainerEntry } from "./transforms/lite/trainer-class.ts";
import { trainerClassToModule } from "./transforms/module/trainer-class.ts";
import { inlineTrainerMethods } from "./transforms/module/inline-trainer-methods.ts";
import { removeDeviceCode } from "./transforms/shared/device/index.ts";
import { collapseDeviceAliases } from "./transforms/shared/collapse-aliases.ts";
import type { ScriptAnalysis } from "./analysis/types.ts";
import { EditSet } from "./edits.ts";
import { InternalError, MigrationError, positionAt, type Position } from "./errors.ts";
import { formatTypeScript } from "./format.ts";
import { runLiteTransforms } from "./lite.ts";
import { runModuleTransforms } from "./module.ts";
import { updateModuleImports } from "./transforms/module/imports.ts";
import { CannotMap } from "./transforms/module/structure.ts";
import { wrapFullBatch } from "./transforms/module/full-batch.ts";
import { iterateHandSlicedBatches } from "./transforms/module/hand-sliced.ts";
import { unrollPhaseLoop } from "./transforms/module/phase-loop.ts";
import { inlineTrainingFunction } from "./transforms/module/inline-training-function.ts";
import { iterateWhileLoop } from "./transforms/module/while-loop.ts";
import { inlineStepClosures } from "./transforms/module/step-closure.ts";
import { selfCheck } from "./self-check.ts";
import { Node, SyntaxKind, within } from "./morph.ts";
import type { Identifier, SourceFile } from "ts-morph";
import { parseScript } from "./source.ts";
import { emptyCounts, type EditCounts, type TransformContext } from "./transforms/context.ts";
import { TODO_PREFIX, TodoList } from "./transforms/shared/todos.ts";

export type MigrationTarget = "lite" | "module";

export interface MigrateOptions {
  to: MigrationTarget;
  /** Path of the input (for messages and the prettier config lookup); need not exist. */
  fileName?: string;
  /** Name of the generated class (default `Lite`; for `module`, the model's class + `Module`, e.g. `NetModule`). */
  className?: string;
  /** Run prettier on the output (default true). */
  format?: boolean;
  /** Check the output before calling it migrated (default true; off only to look at a wrong output while debugging the codemod). */
  selfCheck?: boolean;
  /**
   * How Node runs the script (default `esm`): in CommonJS there is no top-level `await`, so the
   * entry call stays a statement of its own (`new Lite(...).run(...)`) or runs in an async arrow.
   */
  moduleFormat?: "esm" | "commonjs";
}

export interface MigrationTodo {
  /** Position of the `// TODO(lit-migrate)` marker in the output. */
  line: number;
  col: number;
  reason: string;
}

export type MigrationResult =
  | {
      status: "migrated";
      output: string;
      todos: MigrationTodo[];
      counts: EditCounts;
      /** What moved where, one line each (input line numbers). */
      notes: string[];
      /** The migrated script's loss trace is this many times the original's (see ModuleOutcome). */
      traceScale?: number;
    }
  | {
      /**
       * The script trains, but in a shape `--to module` does not express yet: the output is the
       * input, still working, with one TODO at that construct. Exit 1, counted apart from
       * "migrated".
       */
      status: "needs-human";
      output: string;
      todos: MigrationTodo[];
      counts: EditCounts;
      notes: string[];
      reason: string;
      position: Position;
    }
  | { status: "unchanged"; reason: string }
  | {
      status: "failed";
      reason: string;
      position: Position;
      /**
       * The file is not a plain training script at all (no torch import, no backward, already a
       * LightningModule): a directory run counts it as unchanged rather than failed.
       */
      notApplicable: boolean;
      /** Nothing in the file trains (no backward call). */
      noTraining: boolean;
      internal: boolean;
    };

export const DEFAULT_CLASS_NAME = "Lite";

export async function migrate(source: string, options: MigrateOptions): Promise<MigrationResult> {
  try {
    return await migrateOrThrow(source, options);
  } catch (error) {
    if (error instanceof MigrationError) {
      return { status: "failed", reason: error.reason, position: error.position, notApplicable: error.notApplicable, noTraining: error.noTraining, internal: false };
    }
    const message = error instanceof Error ? error.message : String(error);
    if (process.env.LIT_MIGRATE_DEBUG && error instanceof Error) process.stderr.write(`${error.stack}\n`);
    return {
      status: "failed",
      reason: error instanceof InternalError ? `internal error: ${message}` : `internal error: ${message} (please report this with the input script)`,
      position: { line: 1, col: 1 },
      notApplicable: false,
      noTraining: false,
      internal: true,
    };
  }
}

async function migrateOrThrow(source: string, options: MigrateOptions): Promise<MigrationResult> {
  const parsed = parseScript(source, options.fileName);
  const shared = analyzeScript(parsed);
  if (options.to === "module") return migrateToModule(source, shared, options);
  // A backward only in a user-written trainer class: the code that builds and calls it is the entry.
  const analysis: ScriptAnalysis = widenScriptEntry({ ...shared, entry: innermostEntry(shared) ?? trainerEntry(shared) });
  if (analysis.alreadyMigrated === "lite") {
    return { status: "unchanged", reason: "already a LightningLite script: nothing to do" };
  }
  checkMigratable(analysis, "lite");
  const className = pickClassName(analysis, options.className, DEFAULT_CLASS_NAME);

  const edits = new EditSet(source);
  const todos = new TodoList();
  const ctx = context("lite", analysis, edits, todos, options);
  runLiteTransforms(ctx, className);
  const spliced = edits.apply();
  const output = options.format === false ? spliced : await formatTypeScript(spliced, options.fileName);
  if (options.selfCheck !== false) checkOwnOutput(analysis.sourceFile, output, { target: "lite", className, topLevelAwait: ctx.topLevelAwait }, options.fileName);
  return { status: "migrated", output, todos: locateTodos(output, todos), counts: ctx.counts, notes: ctx.notes };
}

/**
 * The output must parse, bind every name, and have the target's shape (self-check.ts); an
 * output that does not is our bug, reported as an internal error at its place in the output.
 */
function checkOwnOutput(input: SourceFile, output: string, shape: Parameters<typeof selfCheck>[2], fileName?: string): void {
  const problem = selfCheck(input, output, shape, fileName);
  if (problem) {
    throw new InternalError(`the migrated output fails lit-migrate's own check at output line ${problem.position.line}:${problem.position.col}: ${problem.reason}`);
  }
}

function context(target: MigrationTarget, analysis: ScriptAnalysis, edits: EditSet, todos: TodoList, options: MigrateOptions): TransformContext {
  return {
    target,
    topLevelAwait: options.moduleFormat !== "commonjs",
    analysis,
    edits,
    todos,
    counts: emptyCounts(),
    notes: [],
    lineOf: (offset) => positionAt(analysis.text, offset).line,
  };
}

/**
 * `--to module`. What the codemod cannot express as a LightningModule (`CannotMap`: a batch
 * loop without a DataLoader, a `break` out of training, ...) leaves the script as it is, still
 * working, with one TODO at that construct: the run reports it as needing a human (exit 1).
 */
async function migrateToModule(source: string, shared: ScriptAnalysis, options: MigrateOptions): Promise<MigrationResult> {
  // The module is built from the function that holds the training code, even when main() only
  // parses the arguments and calls it.
  const analysis = forModule(shared);
  if (analysis.alreadyMigrated === "module") {
    return { status: "unchanged", reason: "already a LightningModule script: nothing to do" };
  }
  const trainer = analysis.entry === null ? trainerEntry(shared) : null;
  if (trainer && analysis.backwardCalls.length > 0) return migrateTrainerClass(source, analysis, options);
  checkMigratable(analysis, "module");
  // Shapes the pipeline reads once they are written the way it knows (step-closure.ts,
  // full-batch.ts): the rewritten script is what the module is built from.
  let input = { source, analysis };
  const rewrites: string[] = [];
  const closures = inlineStepClosures(analysis);
  if (closures) {
    input = analyzedForModule(closures.text, options);
    rewrites.push(closures.note);
  }
  for (const rewrite of [unrollPhaseLoop, inlineTrainingFunction]) {
    const rewritten = rewrite(input.analysis);
    if (rewritten) {
      input = analyzedForModule(rewritten.text, options);
      rewrites.push(rewritten.note);
    }
  }
  const batches = iterateWhileLoop(input.analysis) ?? wrapFullBatch(input.analysis) ?? iterateHandSlicedBatches(input.analysis);
  if (batches) {
    input = analyzedForModule(batches.text, options);
    rewrites.push(batches.note);
  }
  const className = pickClassName(input.analysis, options.className, defaultModuleClassName(input.analysis));
  const edits = new EditSet(input.source);
  const todos = new TodoList();
  const ctx = context("module", input.analysis, edits, todos, options);
  ctx.notes.push(...rewrites);
  try {
    const outcome = runModuleTransforms(ctx, className);
    if (closures && outcome.manual) {
      throw new CannotMap(analysis.backwardCalls[0]!.call, "the optimizer steps with a closure (LBFGS-style) and the loop needs manual optimisation: call optimizer.step(closure) in trainingStep by hand");
    }
    const spliced = updateModuleImports(edits.apply(), input.analysis, { runtime: outcome.runtimeImports, tf: outcome.needsTf }, ctx.counts, ctx.notes);
    const output = options.format === false ? spliced : await formatTypeScript(spliced, options.fileName);
    if (options.selfCheck !== false) checkOwnOutput(input.analysis.sourceFile, output, { target: "module", className, topLevelAwait: ctx.topLevelAwait }, options.fileName);
    return { status: "migrated", output, todos: locateTodos(output, todos), counts: ctx.counts, notes: ctx.notes, traceScale: outcome.traceScale };
  } catch (error) {
    if (!(error instanceof CannotMap)) throw error;
    // The TODO goes into the script as the user wrote it, at its first backward when the
    // construct was one of the rewrite's.
    const node = input.source === source ? error.node : analysis.backwardCalls[0]!.call;
    return leftForAHuman(source, analysis, new CannotMap(node, error.reason), options);
  }
}

/**
 * `--to module` for a trainer class of the script's own (minGPT's Trainer.run holds the loop):
 * the class stays, its loop becomes a LightningModule it fits (transforms/module/trainer-class.ts).
 */
async function migrateTrainerClass(original: string, originalAnalysis: ScriptAnalysis, options: MigrateOptions): Promise<MigrationResult> {
  if (trainerClasses(originalAnalysis).length !== 1) {
    return leftForAHuman(original, originalAnalysis, new CannotMap(originalAnalysis.backwardCalls[0]!.call, "backward() runs in methods of several classes of the script's own: the codemod writes one LightningModule"), options);
  }
  // The methods between the one the script calls and the backward, inlined (DDP tutorial's train → runEpoch → runBatch).
  let source = original;
  let analysis = originalAnalysis;
  const rewrites: string[] = [];
  for (let rewrite = inlineTrainerMethods(analysis, trainerClasses(analysis)[0]!); rewrite; rewrite = inlineTrainerMethods(analysis, trainerClasses(analysis)[0]!)) {
    ({ source, analysis } = analyzedForModule(rewrite.text, options));
    rewrites.push(rewrite.note);
  }
  const [cls] = trainerClasses(analysis);
  const edits = new EditSet(source);
  const todos = new TodoList();
  const ctx = context("module", analysis, edits, todos, options);
  ctx.notes.push(...rewrites);
  try {
    removeDeviceCode(ctx);
    collapseDeviceAliases(ctx);
    const className = pickClassName(analysis, options.className, `${cls!.getName()}Module`);
    const outcome = trainerClassToModule(ctx, cls!, className);
    ctx.todos.emit(edits);
    const spliced = updateModuleImports(edits.apply(), analysis, { runtime: outcome.runtimeImports, tf: true }, ctx.counts, ctx.notes);
    const output = options.format === false ? spliced : await formatTypeScript(spliced, options.fileName);
    if (options.selfCheck !== false) checkOwnOutput(analysis.sourceFile, output, { target: "module", className, topLevelAwait: ctx.topLevelAwait }, options.fileName);
    return { status: "migrated", output, todos: locateTodos(output, todos), counts: ctx.counts, notes: ctx.notes, traceScale: 1 };
  } catch (error) {
    if (!(error instanceof CannotMap)) throw error;
    // (the TODO goes into the script as written, at its backward when the construct was one of the rewrite's)
    const node = source === original ? error.node : originalAnalysis.backwardCalls[0]!.call;
    return leftForAHuman(original, originalAnalysis, new CannotMap(node, error.reason), options);
  }
}

function analyzedForModule(text: string, options: MigrateOptions): { source: string; analysis: ScriptAnalysis } {
  return { source: text, analysis: forModule(analyzeScript(parseScript(text, options.fileName))) };
}

/** The analysis as `--to module` reads it: the innermost training function (or guard body), one optimizer per variable. */
function forModule(shared: ScriptAnalysis): ScriptAnalysis {
  const entry = insideMainGuard(innermostEntry(shared));
  const handedIn = findHandedInTraining(shared);
  // (called once from top-level code that builds the optimizer, the function is inlined instead: inline-training-function.ts)
  if (handedIn && (handedIn.entry.calls.length > 1 || (entry?.kind === "function" && entry.fn === handedIn.entry.fn))) {
    // The models and optimizers the callers build stay theirs; the module is made of fit()'s arguments.
    const fn = handedIn.entry.fn.node;
    return { ...shared, entry: handedIn.entry, optimizers: [], handedInOptimizer: handedIn.optimizer, models: shared.models.filter((m) => within(m.declaration, fn)), schedulers: shared.schedulers.filter((s) => within(s.construction, fn)) };
  }
  return { ...shared, entry, optimizers: modelMethodOptimizers({ ...shared, optimizers: oneInstancePerVariable(shared) }) };
}

/**
 * What `--to module` cannot express yet: the script as it is, still working, with one TODO at
 * that construct ("needs a human", exit 1).
 */
async function leftForAHuman(source: string, analysis: ScriptAnalysis, error: CannotMap, options: MigrateOptions): Promise<MigrationResult> {
  const edits = new EditSet(source);
  const todos = new TodoList();
  const ctx = context("module", analysis, edits, todos, options);
  todos.add(error.node, `not migrated to a LightningModule: ${error.reason}`);
  todos.emit(edits);
  const spliced = edits.apply();
  ctx.notes.push(`left as it is: ${error.reason} (line ${ctx.lineOf(error.node.getStart())})`);
  const output = options.format === false ? spliced : await formatTypeScript(spliced, options.fileName);
  return {
    status: "needs-human",
    output,
    todos: locateTodos(output, todos),
    counts: ctx.counts,
    notes: ctx.notes,
    reason: error.reason,
    position: positionAt(source, error.node.getStart()),
  };
}

/**
 * `let optimizer = new optim.SGD(...); ... optimizer = new optim.SGD(...);` is one optimizer
 * (the tutorial rebuilds it before training): the reassignments are not optimizers of their own.
 */
function oneInstancePerVariable(analysis: ScriptAnalysis): ScriptAnalysis["optimizers"] {
  const declared = new Set(analysis.optimizers.flatMap((o) => (o.declaration ? [o.declaration as unknown] : [])));
  const target = (o: ScriptAnalysis["optimizers"][number]) => {
    const assign = o.construction.getParent();
    if (!assign || !Node.isBinaryExpression(assign) || assign.getRight() !== o.construction || !Node.isIdentifier(assign.getLeft())) return undefined;
    return analysis.references.declarationOf(assign.getLeft() as Identifier);
  };
  return analysis.optimizers
    .filter((o) => o.declaration !== null || !declared.has(target(o)))
    .map((o) => {
      // `let optimizer!: optim.AdamW; if (useOptimizer) optimizer = new optim.AdamW(...)`: the
      // variable declared without a value is this optimizer's.
      const decl = o.declaration === null ? target(o) : undefined;
      return decl && Node.isVariableDeclaration(decl) && !decl.getInitializer() ? { ...o, declaration: decl, name: decl.getName() } : o;
    });
}

/** `NetModule` for a script training a `Net`; `LitModule` when several models (or none of the script's classes) train. */
function defaultModuleClassName(analysis: ScriptAnalysis): string {
  const trained = analysis.models.filter((m) => m.optimizers.length > 0);
  return trained.length === 1 && trained[0]!.className ? `${trained[0]!.className}Module` : "LitModule";
}

function checkMigratable(analysis: ScriptAnalysis, target: MigrationTarget): void {
  if (analysis.alreadyMigrated === "module") {
    throw new MigrationError("already a LightningModule script; --to lite converts plain training scripts", { line: 1, col: 1 }, true);
  }
  if (analysis.alreadyMigrated === "lite" && target === "module") {
    throw new MigrationError("already a LightningLite script; --to module converts plain training scripts", { line: 1, col: 1 }, true);
  }
  if (analysis.backwardCalls.length === 0) {
    throw new MigrationError(
      analysis.torchImport
        ? "no training loop found (no loss.backward() call)"
        : "no training loop found (not a lightning-ts/torch script: nothing imports lightning-ts/torch)",
      { line: 1, col: 1 },
      true,
      true,
    );
  }
  if (!analysis.entry) {
    const first = analysis.backwardCalls[0]!.call;
    throw new MigrationError(
      "no training loop found outside classes: backward() is only called where no top-level code reaches it",
      positionAt(analysis.text, first.getStart()),
    );
  }
}

/** Words a class cannot be named (ES reserved words and TypeScript's predefined type names). */
const RESERVED = new Set(
  ("break case catch class const continue debugger default delete do else enum export extends false finally for function if " +
    "import in instanceof new null return super switch this throw true try typeof var void while with implements interface " +
    "let package private protected public static yield await any boolean number string symbol never unknown object undefined")
    .split(" "),
);

function pickClassName(analysis: ScriptAnalysis, requested: string | undefined, fallback: string): string {
  if (requested !== undefined) {
    if (!/^[A-Za-z_$][\w$]*$/.test(requested) || RESERVED.has(requested)) {
      throw new MigrationError(`--class-name '${requested}' is not a valid class name`);
    }
    if (analysis.topLevelNames.has(requested)) {
      throw new MigrationError(`--class-name '${requested}' is already declared in this file; choose another name`);
    }
    return requested;
  }
  if (!analysis.topLevelNames.has(fallback)) return fallback;
  for (let i = 2; ; i++) if (!analysis.topLevelNames.has(`${fallback}${i}`)) return `${fallback}${i}`;
}

/** Finds each TODO's marker in the formatted output, in order. */
function locateTodos(output: string, todos: TodoList): MigrationTodo[] {
  const lines = output.split("\n");
  const items = [...todos.items].sort((a, b) => a.offset - b.offset);
  const result: MigrationTodo[] = [];
  let from = 0;
  for (const item of items) {
    const marker = `${TODO_PREFIX} ${item.reason}`;
    let found = -1;
    for (let i = from; i < lines.length; i++) {
      if (lines[i]!.includes(marker)) {
        found = i;
        break;
      }
    }
    if (found === -1) found = lines.findIndex((l) => l.includes(marker));
    if (found === -1) {
      result.push({ line: 1, col: 1, reason: item.reason });
      continue;
    }
    result.push({ line: found + 1, col: lines[found]!.indexOf("//") + 1, reason: item.reason });
    from = found + 1;
  }
  return result;
}
