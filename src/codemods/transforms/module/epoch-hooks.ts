/**
 * The rest of the epoch loop goes to the hooks the Trainer calls at the same points:
 *
 *   for (let epoch = 0; epoch < n; epoch++) {
 *     model.train();                       (the Trainer sets train mode)
 *     let total = 0;                    →  onTrainEpochStart() { this.total = 0; }
 *     for (... of trainLoader) {...}    →  trainingStep
 *     model.eval(); let valLoss = 0;    →  onValidationEpochStart() { this.valLoss = 0; }
 *     noGrad(() => { for (...) {...} }) →  validationStep
 *     console.log(epoch, total, valLoss)→  onTrainEpochEnd() { this.print(this.currentEpoch, this.total, this.valLoss); }
 *   }
 *
 * The Trainer runs the validation before `onTrainEpochEnd`, so the statements after the batch
 * loop keep their order relative to the validation loop's results. What the validation loop
 * reads from code between the loops (its accumulators) is reset in `onValidationEpochStart`,
 * which also runs for the sanity check, so the sanity batches never leak into the first epoch's
 * numbers. A training or evaluation helper is inlined the same way: its statements before the
 * loop run at the start, its statements after it and its returned value at the end.
 */
import type { Statement } from "ts-morph";
import { Node, SyntaxKind } from "../../morph.ts";
import type { MethodName, ModuleBuilder } from "./builder.ts";
import { blockStatements, type LoopSite } from "./structure.ts";
import { callStatement, isModeCall, optimizerDecls } from "./statements.ts";
import type { TrainingStep } from "./training-step.ts";

export function placeEpochCode(m: ModuleBuilder, training: TrainingStep): void {
  const { epoch, train, validation } = m.structure;
  const placeStart = (s: Statement, hook: MethodName) => {
    if (m.isPlaced(s)) return;
    if (isModeCall(s, m) || (!training.manual && callStatement(s, optimizerDecls(m), ["zeroGrad"], m))) m.place(s, "drop");
    else m.place(s, hook);
  };
  const placeEnd = (s: Statement) => {
    if (m.isPlaced(s)) return;
    m.place(s, isModeCall(s, m) ? "drop" : "onTrainEpochEnd");
  };

  if (!epoch) {
    // One pass over the data: the helper's parts still have their hooks.
    placeSite(m, train, "onTrainEpochStart", placeStart, placeEnd);
    return;
  }
  m.place(epoch.loop, "drop");
  for (const b of epoch.stops) m.ctx.edits.replace(b.getStart(), b.getEnd(), "this.trainer.shouldStop = true;", "module-break");
  if (epoch.stops.length > 0) m.note(`\`break\` at the end of an epoch (line ${m.line(epoch.stops[0]!)}) → this.trainer.shouldStop = true`);
  const outer = blockStatements(epoch.loop.getStatement());
  const iTrain = outer.indexOf(train.statement);
  for (const s of outer.slice(0, iTrain)) placeStart(s, "onTrainEpochStart");
  placeSite(m, train, "onTrainEpochStart", placeStart, placeEnd);

  const iVal = validation ? outer.indexOf(validation.statement) : -1;
  const valReads = validation ? readsOf(m, validation) : new Set<Node>();
  outer.slice(iTrain + 1).forEach((s, k) => {
    const i = iTrain + 1 + k;
    if (validation && s === validation.statement) {
      placeSite(m, validation, "onValidationEpochStart", placeStart, placeEnd);
      return;
    }
    if (i < iVal && preparesValidation(m, s, valReads)) placeStart(s, "onValidationEpochStart");
    else placeEnd(s);
  });
  const hooks = (["onTrainEpochStart", "onTrainEpochEnd", "onValidationEpochStart"] as const).filter((h) => m.has(h));
  m.note(`epoch loop (line ${m.line(epoch.loop)}) → new Trainer({ maxEpochs })${hooks.length > 0 ? `; the code around its loops → ${hooks.join(", ")}` : ""}`);
}

/** A loop site's own parts: the helper's statements around the loop, and the call statement (with its result). */
function placeSite(
  m: ModuleBuilder,
  site: LoopSite,
  startHook: MethodName,
  placeStart: (s: Statement, hook: MethodName) => void,
  placeEnd: (s: Statement) => void,
): void {
  if (!site.helper) {
    if (!m.isPlaced(site.statement)) m.place(site.statement, "drop");
    return;
  }
  for (const s of site.helper.pre) placeStart(s, startHook);
  for (const s of site.helper.post) placeEnd(s);
  placeCallStatement(m, site, placeEnd);
}

/** `const trainLoss = trainEpoch(...)` keeps its binding (the call becomes the returned value, see inline-helpers.ts); a bare call goes. */
export function placeCallStatement(m: ModuleBuilder, site: LoopSite, place: (s: Statement) => void): void {
  const h = site.helper!;
  // The call is replaced by the helper's returned value (inline-helpers.ts): its arguments move nowhere.
  m.consume(h.call);
  const bare = Node.isExpressionStatement(site.statement);
  if (bare || !h.returnStatement) m.place(site.statement, "drop");
  else place(site.statement);
  // The returned value is written where the call was.
  if (h.returnStatement) m.locate(h.returnStatement, m.destinationOf(site.statement) ?? "drop");
  m.note(`${h.fn.name}() (line ${m.line(h.fn.node)}) inlined: its loop and the code around it moved into the module`);
}

/** Declarations the validation loop (and its helper) read. */
function readsOf(m: ModuleBuilder, site: LoopSite): Set<Node> {
  const out = new Set<Node>();
  const nodes: Node[] = [site.loop, ...(site.helper ? [...site.helper.pre, ...site.helper.post] : [])];
  for (const n of nodes) {
    for (const id of n.getDescendantsOfKind(SyntaxKind.Identifier)) {
      const d = m.ctx.analysis.references.declarationOf(id);
      if (d) out.add(d);
    }
  }
  return out;
}

/** A statement between the loops that declares or resets what the validation loop reads. */
function preparesValidation(m: ModuleBuilder, s: Statement, reads: Set<Node>): boolean {
  if (Node.isVariableStatement(s)) return s.getDeclarations().some((d) => reads.has(d));
  if (Node.isExpressionStatement(s)) {
    const e = s.getExpression();
    if (Node.isBinaryExpression(e) && e.getOperatorToken().getKind() === SyntaxKind.EqualsToken && Node.isIdentifier(e.getLeft())) {
      const d = m.ctx.analysis.references.declarationOf(e.getLeft() as never);
      return d !== undefined && reads.has(d);
    }
  }
  return false;
}
