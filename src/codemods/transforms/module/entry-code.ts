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
import { isModeCall } from "./statements";

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
  for (const s of statements.slice(0, statements.indexOf(trainingStatement))) {
    if (m.isPlaced(s) || m.config.has(s)) continue;
    if (m.ctx.edits.covers(s.getStart(), s.getEnd())) m.place(s, "drop");
    else if (isModeCall(s, m)) m.place(s, "drop");
    else if (Node.isExpressionStatement(s) && !readsTrainingCode(m, s)) m.place(s, "callSite");
    else m.place(s, "onFitStart");
  }
  const hoisted = m.callSite.length;
  if (hoisted > 0) m.note(`${hoisted} statement(s) that read nothing of ${entry.fn?.name ?? "the training code"} (seeding) → the top level, before the module is built`);
}

/** Whether a statement reads a local of the training function (its parameters excepted: they exist at the call site). */
export function readsTrainingCode(m: ModuleBuilder, s: Node): boolean {
  const fn = m.structure.entry.fn?.node;
  const params = new Set<Node>(m.structure.entry.params);
  const entry = m.structure.entry.statements;
  return s.getDescendantsOfKind(SyntaxKind.Identifier).some((id) => {
    const d = m.ctx.analysis.references.declarationOf(id);
    if (!d || params.has(d)) return false;
    if (fn && d.getStart() >= fn.getStart() && d.getEnd() <= fn.getEnd()) return true;
    return entry.some((t: Statement) => d.getStart() >= t.getStart() && d.getEnd() <= t.getEnd());
  });
}
