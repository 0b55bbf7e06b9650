/**
 * The training function's own statements around the epoch loop:
 *
 *   before it   seeding and other code that reads nothing of the function  → the top level, before the module is built
 *               models, optimizers, data                                    → fields, configureOptimizers, data hooks
 *               anything else (resuming from a checkpoint, a log line)      → onFitStart (after configureOptimizers)
 *   after it    a test loop and the code around it                          → onTestEpochStart / testStep / onTestEpochEnd
 *               anything else (saving the model)                            → onFitEnd
 *
 * `model.train()` / `model.eval()` go: the Trainer sets the modes.
 */
import type { Statement } from "ts-morph";
import { Node, SyntaxKind } from "../../morph";
import type { ModuleBuilder } from "./builder";
import { placeCallStatement } from "./epoch-hooks";
import { declaredNames, isModeCall, within } from "./statements";
import { isWrite } from "./structure";
import { torchPath } from "../../analysis/torch";

/** Places the statements after training (the test section, or onFitEnd). Those before it wait for the data pass. */
export function placeCodeAfterTraining(m: ModuleBuilder): void {
  const { entry, trainingStatement, test } = m.structure;
  const statements = entry.statements;
  const after = statements.slice(statements.indexOf(trainingStatement) + 1);
  if (!test) {
    for (const s of after) if (!m.isPlaced(s)) m.place(s, isModeCall(s, m) ? "drop" : "onFitEnd");
    if (after.some((s) => m.destinationOf(s) === "onFitEnd")) m.note("code after the epoch loop → onFitEnd()");
    return;
  }
  const iTest = after.indexOf(test.statement);
  after.forEach((s, i) => {
    if (m.isPlaced(s) && s !== test.statement) return;
    if (s === test.statement) {
      if (test.helper) {
        for (const t of test.helper.pre) if (!m.isPlaced(t)) m.place(t, isModeCall(t, m) ? "drop" : "onTestEpochStart");
        for (const t of test.helper.post) if (!m.isPlaced(t)) m.place(t, "onTestEpochEnd");
        placeCallStatement(m, test, (t) => m.place(t, "onTestEpochEnd"));
      } else if (!m.isPlaced(s)) {
        m.place(s, "drop");
      }
      return;
    }
    if (isModeCall(s, m)) m.place(s, "drop");
    else m.place(s, i < iTest ? "onTestEpochStart" : "onTestEpochEnd");
  });
}

/**
 * Places what is left before training once data and optimizers have theirs: code that reads
 * nothing of the training function runs at the top level before the module is built (seeding
 * must precede the models' construction); the rest runs in onFitStart.
 */
export function placeCodeBeforeTraining(m: ModuleBuilder): void {
  const { entry, trainingStatement } = m.structure;
  const statements = entry.statements;
  // With one place that runs the training code (a top-level script, or one call of main), the
  // code that reads nothing of what the module builds (argument parsing, `let epochs = 3`,
  // seeding, options objects) stays there and runs before the module is built: the Trainer's
  // flags can read it, and so can the module (its declarations become top-level names).
  const keepsDeclarations = keepsCallSiteDeclarations(m);
  const kept = new Set<Node>(m.callSite);
  for (const s of statements.slice(0, statements.indexOf(trainingStatement))) {
    if (m.isPlaced(s) || m.config.has(s)) continue;
    if (m.ctx.edits.covers(s.getStart(), s.getEnd())) m.place(s, "drop");
    else if (isModeCall(s, m)) m.place(s, "drop");
    else if (Node.isExpressionStatement(s) && !readsTrainingCode(m, s, kept)) m.place(s, "callSite");
    else if (
      keepsDeclarations &&
      !readsTrainingCode(m, s, kept) &&
      !(entry.fn && declaresParameterNames(m, s)) &&
      writtenOnlyBeforeModule(m, s, kept) &&
      !buildsTorchObjects(m, s)
    ) {
      m.place(s, "callSite");
      kept.add(s);
    } else m.place(s, "onFitStart");
  }
  const hoisted = m.callSite.length;
  if (hoisted > 0) m.note(`${hoisted} statement(s) that read nothing of what the module builds (arguments, seeding) → run before the module is built`);
}

/**
 * A variable kept at the call site must not change once the module is built (`let startEpoch = 0`
 * that resuming code sets in onFitStart is the module's, a field): every write to it is a
 * statement before training that is kept there too.
 */
function writtenOnlyBeforeModule(m: ModuleBuilder, s: Node, kept: ReadonlySet<Node>): boolean {
  if (!Node.isVariableStatement(s)) return true;
  const { entry, trainingStatement } = m.structure;
  const before = entry.statements.slice(0, entry.statements.indexOf(trainingStatement));
  const withThis = new Set([...kept, s]);
  return declaredNames(s).every((name) =>
    m.ctx.analysis.references.usesOf(name).every((use) => {
      if (!isWrite(use)) return true;
      const t = before.find((b) => within(use, b));
      return t !== undefined && Node.isExpressionStatement(t) && !readsTrainingCode(m, t, withThis);
    }),
  );
}

/** Torch calls that configure rather than build (they may run before the module exists). */
const CONFIGURING_CALLS = /^(accelerator|cuda)\.\w+$|^(device|manualSeed|initialSeed)$/;

/** Whether `s` builds torch objects (datasets, layers, tensors, random draws): those belong to the module. */
function buildsTorchObjects(m: ModuleBuilder, s: Node): boolean {
  const refs = m.ctx.analysis.references;
  return [s, ...s.getDescendants()].some((n) => {
    if (!Node.isCallExpression(n) && !Node.isNewExpression(n)) return false;
    const path = torchPath(n.getExpression(), refs);
    return path !== null && (Node.isNewExpression(n) || !CONFIGURING_CALLS.test(path));
  });
}

/** Whether code that declares names may run at the call site (one place runs the training code, so its names are top-level names). */
export function keepsCallSiteDeclarations(m: ModuleBuilder): boolean {
  const { entry } = m.structure;
  return entry.fn === null || entry.calls.length === 1;
}

/**
 * What the Trainer's flags read (`args.epochs` of the epoch loop's bound, and what `args` is
 * computed from) runs at the call site, before the module is built: placed now, before the data
 * pass would take `args` as data code. Only code that reads no model, optimizer or DataLoader.
 */
export function placeFlagInputs(m: ModuleBuilder, inputs: Node[]): void {
  if (!keepsCallSiteDeclarations(m)) return;
  const { entry, trainingStatement } = m.structure;
  const before = entry.statements.slice(0, entry.statements.indexOf(trainingStatement));
  const refs = m.ctx.analysis.references;
  const needed = new Set<Statement>();
  const visit = (n: Node): boolean => {
    for (const id of [n, ...n.getDescendantsOfKind(SyntaxKind.Identifier)]) {
      if (!Node.isIdentifier(id)) continue;
      const d = refs.declarationOf(id);
      if (!d || within(d, n)) continue;
      const s = before.find((t) => within(d, t));
      if (!s || needed.has(s) || m.config.has(s)) continue;
      if (m.isPlaced(s) || !Node.isVariableStatement(s)) return false;
      needed.add(s);
      if (!visit(s)) return false;
    }
    return true;
  };
  if (!inputs.every(visit)) return;
  // (a value the training code changes, `startEpoch` set when resuming, is not known before it runs)
  const changed = [...needed].some((s) => declaredNames(s).some((n) => refs.usesOf(n).some((u) => isWrite(u))));
  if (changed || [...needed].some((s) => buildsTorchObjects(m, s))) return;
  for (const s of needed) m.place(s, "callSite");
}

/** A statement kept before the module is built may not redeclare a name the call site already binds for main's parameters. */
function declaresParameterNames(m: ModuleBuilder, s: Node): boolean {
  const params = new Set(m.structure.entry.params.map((p) => p.getName()));
  return Node.isVariableStatement(s) && s.getDeclarations().some((d) => params.has(d.getName()));
}

/**
 * Whether a statement reads a local of the training function (its parameters excepted: they
 * exist at the call site; so do the locals declared by the statements in `kept`, and the
 * statement's own).
 */
export function readsTrainingCode(m: ModuleBuilder, s: Node, kept: ReadonlySet<Node> = new Set()): boolean {
  const fn = m.structure.entry.fn?.node;
  const params = new Set<Node>(m.structure.entry.params);
  const entry = m.structure.entry.statements;
  return s.getDescendantsOfKind(SyntaxKind.Identifier).some((id) => {
    const d = m.ctx.analysis.references.declarationOf(id);
    if (!d || params.has(d) || within(d, s)) return false;
    for (const k of kept) if (within(d, k)) return false;
    if (fn && d.getStart() >= fn.getStart() && d.getEnd() <= fn.getEnd()) return true;
    return entry.some((t: Statement) => d.getStart() >= t.getStart() && d.getEnd() <= t.getEnd());
  });
}
