/**
 * The batch loop becomes `trainingStep`. With one optimizer in the usual order (zeroGrad,
 * loss, backward, [clip], step, [scheduler step]) the Trainer runs the optimisation
 * (automatic optimisation, SPEC §4): the loop body minus zeroGrad/backward/step is the step,
 * the loss is logged and returned.
 *
 *   for (const [x, y] of loader) {                trainingStep([x, y]: [tf.Tensor, tf.Tensor], batchIdx: number) {
 *     optimizer.zeroGrad();                          const loss = F.crossEntropy(this.forward(x), y);
 *     const loss = F.crossEntropy(model.forward(x), y);   →   this.log("train_loss", loss);
 *     loss.backward();                               return loss;
 *     optimizer.step();                            }
 *   }
 *
 * Anything else — several optimizers (a GAN), two backward passes, a step under a condition
 * that is not gradient accumulation — keeps the script's own order under manual optimisation
 * (`automaticOptimization = false`): backward becomes `this.manualBackward(loss)` and the
 * optimizers come from `this.optimizers()` (see `manual-optimization.ts`).
 */
import type { ExpressionStatement, Statement } from "ts-morph";
import type { BackwardCall } from "../../analysis/types.ts";
import { Node, SyntaxKind } from "../../morph.ts";
import { statementRemovalRange } from "../shared/ranges.ts";
import { applyAccumulation, matchAccumulation, type Accumulation } from "./accumulation.ts";
import { rewriteBackward } from "./backward.ts";
import { findBatchCounter } from "./batch-index.ts";
import type { ModuleBuilder } from "./builder.ts";
import { applyClippingFlags, planClipping, readsLocalsOf, type ClippingPlan } from "./clipping.ts";
import { manualTrainingStep } from "./manual-optimization.ts";
import { findSchedulerSteps, type SchedulerStep } from "./schedulers.ts";
import { blockStatements, CannotMap, endsTheBody, indexBindingOf, indexedIterable, yieldsTensorBatches } from "./structure.ts";
import { callStatement, freshName, jumpsOutOf, modelDecls, moduleOptimizers, prints, returnsIn } from "./statements.ts";
import { statementOfCall } from "../../analysis/functions.ts";

interface AutomaticPlan {
  backward: BackwardCall;
  backwardStatement: ExpressionStatement;
  /** zeroGrad and step statements (the Trainer does both). */
  optimizerStatements: Statement[];
  accumulation: Accumulation | null;
  clipping: ClippingPlan;
  schedulerSteps: SchedulerStep[];
}

/**
 * What the batch loop became, for the transforms after it (module.ts hands it to them): whether
 * the optimisation is manual, the step's batch index, and where the schedulers step.
 */
export interface TrainingStep {
  /** Manual optimisation (`automaticOptimization = false`): the step zeroes, backpropagates and steps itself. */
  manual: boolean;
  /** Name of trainingStep's batch index parameter: the script's own counter, or a fresh `batchIdx`. */
  batchIdxName: string;
  /** Where the Trainer steps each scheduler (automatic optimisation only: manual optimisation keeps the script's calls). */
  schedulerSteps: SchedulerStep[];
  /**
   * The `K` of a `loss.div(K)` the accumulation transform took off (the Trainer divides
   * instead), or null: the migrated loss trace is K times the plain one.
   */
  removedLossDivision: Node | null;
}

export function buildTrainingStep(m: ModuleBuilder): TrainingStep {
  const { train, epoch } = m.structure;
  const loop = train.loop;
  const bodyNode = loop.getStatement();
  const body = blockStatements(bodyNode);
  for (const r of returnsIn(bodyNode)) throw new CannotMap(r, "`return` inside the training loop ends training early: use an EarlyStopping callback or this.trainer.shouldStop");

  const outer = epoch ? blockStatements(epoch.loop.getStatement()) : m.structure.entry.statements;
  const before = [...outer.slice(0, outer.indexOf(train.statement)), ...(train.helper?.pre ?? [])];
  const counter = findBatchCounter(m, before);
  let batchIdxName: string;
  const indexed = indexedIterable(loop) ? indexBindingOf(loop) : null;
  if (indexed) {
    batchIdxName = indexed.index.getText();
  } else if (counter) {
    m.place(counter.declaration, "drop");
    m.place(counter.increment, "drop");
    batchIdxName = counter.name;
    m.note(`batch counter \`${counter.name}\` (line ${m.line(counter.declaration)}) → trainingStep's batch index parameter`);
  } else {
    batchIdxName = freshName(m, loop, "batchIdx");
  }
  const plan = automaticPlan(m, body, counter?.name ?? null);
  endEpochOnBreak(m, loop, bodyNode, typeof plan === "string");
  // An epoch mean weights each step by its batch size, which the Trainer finds in a batch of
  // tensors; a batch of something else (a list of indices, an episode number) weighs one, as the
  // script's own mean over its batches does.
  const tensorBatches = yieldsTensorBatches(m.structure.train.loader, m.ctx.analysis);
  const logOptions = epochPrints(m) ? `, { onEpoch: true, progBar: true${tensorBatches ? "" : ", batchSize: 1"} }` : "";

  if (typeof plan === "string") {
    manualTrainingStep(m, body, plan, logOptions);
    return { manual: true, batchIdxName, schedulerSteps: [], removedLossDivision: null };
  }
  const removedLossDivision = automaticTrainingStep(m, body, plan, logOptions);
  return { manual: false, batchIdxName, schedulerSteps: plan.schedulerSteps, removedLossDivision };
}

/**
 * `break` as the last thing a batch does (`if (args.dryRun) break;` after logging) ends the
 * epoch after this batch: Lightning's way is `onTrainBatchStart` returning -1 before the next
 * one. The break sets a flag the hook reads; each epoch starts with it cleared. Under manual
 * optimisation the whole batch body is trainingStep's, so a break anywhere in it (`if (solved)
 * { ...; break; }` before more code) is also `return;` there: the rest of the batch is skipped,
 * as the break skipped it.
 */
function endEpochOnBreak(m: ModuleBuilder, loop: Node, body: Node, manual: boolean): void {
  const breaks = jumpsOutOf(loop, SyntaxKind.BreakStatement);
  if (breaks.length === 0) return;
  const inTheMiddle = breaks.filter((b) => !endsTheBody(b, body, (t) => m.destinationOf(t) === "drop"));
  if (inTheMiddle.length > 0 && !manual) {
    throw new CannotMap(inTheMiddle[0]!, "`break` in the middle of a batch ends the epoch early: Lightning has no such loop control (return -1 from onTrainBatchStart to skip the rest of an epoch, or set this.trainer.shouldStop)");
  }
  const flag = m.freshMember("endEpoch");
  m.addField({ name: flag, declaration: " = false" });
  for (const b of breaks) m.ctx.edits.replace(b.getStart(), b.getEnd(), inTheMiddle.includes(b) ? `this.${flag} = true;\nreturn;` : `this.${flag} = true;`, "module-break");
  m.append("onTrainBatchStart", `return this.${flag} ? -1 : undefined;\n`);
  m.append("onTrainEpochStart", `this.${flag} = false;\n`);
  m.note(`\`break\` out of the batch loop (line ${m.line(breaks[0]!)}) → onTrainBatchStart() returns -1 after that batch`);
}

/** The plan for automatic optimisation, or why the loop needs manual optimisation. */
function automaticPlan(m: ModuleBuilder, body: Statement[], batchIdx: string | null): AutomaticPlan | string {
  const { analysis } = m.ctx;
  const loop = m.structure.train.loop;
  const optimizers = moduleOptimizers(m);
  if (optimizers.length !== 1) return `${optimizers.length} optimizers`;
  const declaration = optimizers[0]!.declaration;
  if (!declaration) return "the optimizer is not assigned to a variable";
  const optSet = m.withAliases([declaration]);
  const training = analysis.trainingLoops[0]!;
  if (training.backward.length !== 1) return "more than one backward() per batch";
  const backward = training.backward[0]!;
  if (backward.extraArguments.length > 0) return "backward() with options";
  const backwardStatement = statementOfCall(backward.call);
  const ib = backwardStatement ? body.indexOf(backwardStatement) : -1;
  if (!backwardStatement || ib === -1) return "backward() is not a statement of the batch loop itself";

  // The optimizer step: a statement after backward, or inside `if ((i + 1) % K === 0) {...}`.
  let stepList: Statement[] = body;
  let stepIndex = -1;
  let accumulation: Accumulation | null = null;
  for (let i = ib + 1; i < body.length && stepIndex === -1; i++) {
    const s = body[i]!;
    if (callStatement(s, optSet, ["step"], m)) {
      stepIndex = i;
      break;
    }
    const acc = matchAccumulation(s, batchIdx);
    if (acc) {
      const inner = blockStatements(acc.ifStatement.getThenStatement());
      const j = inner.findIndex((t) => callStatement(t, optSet, ["step"], m) !== null);
      if (j !== -1) {
        if (m.probe.resolve(acc.k) === null) return `the accumulation count \`${acc.k.getText()}\` is not known where the Trainer is built`;
        accumulation = acc;
        stepList = inner;
        stepIndex = j;
      }
    }
  }
  if (stepIndex === -1) return "the optimizer does not step once per batch (or every N batches)";

  // Every zeroGrad/step of the optimizer (or zeroGrad of the model) must be one the Trainer does.
  const zeroable = new Set<Node>([...optSet, ...modelDecls(m)]);
  const optimizerStatements: Statement[] = [stepList[stepIndex]!];
  for (let i = 0; i < ib; i++) if (callStatement(body[i]!, zeroable, ["zeroGrad"], m)) optimizerStatements.push(body[i]!);
  for (let i = stepIndex + 1; i < stepList.length; i++) if (callStatement(stepList[i]!, zeroable, ["zeroGrad"], m)) optimizerStatements.push(stepList[i]!);
  const stray = m.structure.train.loop
    .getDescendantsOfKind(SyntaxKind.CallExpression)
    .find((c) => {
      const callee = c.getExpression();
      if (!Node.isPropertyAccessExpression(callee) || !["step", "zeroGrad"].includes(callee.getName())) return false;
      const r = callee.getExpression();
      const decl = Node.isIdentifier(r) ? analysis.references.declarationOf(r) : undefined;
      if (!decl || !(callee.getName() === "step" ? optSet : zeroable).has(decl)) return false;
      return !optimizerStatements.includes(statementOfCall(c) as Statement);
    });
  if (stray) return `${stray.getText()} at line ${m.line(stray)} is not where the Trainer steps or zeroes the optimizer`;
  if (optimizerStatements.length < 2 && !zeroesPerEpoch(m, zeroable)) return "the optimizer's gradients are never zeroed";

  // Between backward and step: clipping (a Trainer flag or configureGradientClipping), or code
  // that may stay in trainingStep (it then runs before backward: fine unless it reads gradients).
  const between = accumulation ? stepList.slice(0, stepIndex) : body.slice(ib + 1, stepIndex);
  const clipping = planClipping(m, between);
  if (clipping.kind === "hook") {
    if (accumulation) return "clipping inside the accumulation condition does more than clip";
    const local = readsLocalsOf(m, clipping.statements, loop);
    if (local) return `the clipping code reads \`${local}\` of the batch`;
  } else if (clipping.kind === "none" && between.some((s) => /\.grad\b/.test(s.getText()))) {
    return "code between backward() and step() reads gradients";
  }

  for (const c of jumpsOutOf(loop, SyntaxKind.ContinueStatement)) {
    if (c.getStart() > backwardStatement.getStart()) return "`continue` after backward() skips the optimizer step";
  }

  const afterStep = stepList.slice(stepIndex + 1);
  const bodyAfterStep = accumulation ? [] : body.slice(stepIndex + 1);
  const schedulerSteps = findSchedulerSteps(m, afterStep, bodyAfterStep);
  if (typeof schedulerSteps === "string") return schedulerSteps;
  return { backward, backwardStatement, optimizerStatements, accumulation, clipping, schedulerSteps };
}

/** `optimizer.zeroGrad()` at the start of every epoch (gradient accumulation scripts do that). */
function zeroesPerEpoch(m: ModuleBuilder, decls: Set<Node>): boolean {
  const { epoch, train } = m.structure;
  const outer = epoch ? blockStatements(epoch.loop.getStatement()) : m.structure.entry.statements;
  const before = [...outer.slice(0, outer.indexOf(train.statement)), ...(train.helper?.pre ?? [])];
  return before.some((s) => callStatement(s, decls, ["zeroGrad"], m) !== null);
}

/** Places the step's statements; returns the loss division the accumulation took off, if any. */
function automaticTrainingStep(m: ModuleBuilder, body: Statement[], plan: AutomaticPlan, logOptions: string): Node | null {
  const { edits } = m.ctx;
  const text = m.text;
  const dropped = new Set<Statement>(plan.optimizerStatements);
  for (const s of plan.schedulerSteps) if (s.interval === "step") dropped.add(s.statement);

  let removedLossDivision: Node | null = null;
  if (plan.accumulation) {
    if (applyAccumulation(m, plan.accumulation, plan.backward, plan.backwardStatement)) {
      removedLossDivision = plan.accumulation.k;
    } else {
      m.ctx.todos.add(
        plan.backwardStatement,
        "Lightning divides the loss by accumulateGradBatches before backward; the plain script backpropagated it undivided (its gradients were accumulateGradBatches times larger)",
      );
    }
    // Inside the condition, the optimizer statements go; an `if` left empty goes too.
    const inner = blockStatements(plan.accumulation.ifStatement.getThenStatement());
    const clipFlags = plan.clipping.kind === "flags" ? plan.clipping.statements : [];
    const removed = inner.filter((s) => dropped.has(s) || clipFlags.includes(s));
    if (removed.length === inner.length) {
      dropped.add(plan.accumulation.ifStatement);
    } else {
      for (const s of removed) {
        const r = statementRemovalRange(s, text);
        edits.delete(r.start, r.end, "module-optimizer-call");
      }
    }
  }
  if (plan.clipping.kind === "flags") applyClippingFlags(m, plan.clipping.statements);
  const hook = plan.clipping.kind === "hook" ? plan.clipping.statements : [];
  if (hook.length > 0) m.note(`clipping code (line ${m.line(hook[0]!)}) → configureGradientClipping(), which the Trainer calls between backward and the optimizer step`);

  const loss = rewriteBackward(m, plan.backward, plan.backwardStatement, { metric: "train_loss", manual: false, logOptions });
  for (const s of body) {
    if (dropped.has(s)) m.place(s, "drop");
    else if (hook.includes(s)) m.place(s, "configureGradientClipping");
    else m.place(s, "trainingStep");
  }
  // `continue` (before backward) skips the batch: trainingStep returns nothing.
  for (const c of jumpsOutOf(m.structure.train.loop, SyntaxKind.ContinueStatement)) edits.replace(c.getStart(), c.getEnd(), "return;", "module-continue");
  m.append("trainingStep", `return ${loss};`);
  const loop = m.structure.train.loop;
  m.note(`batch loop (lines ${m.line(loop)}–${m.ctx.lineOf(loop.getEnd())}) → trainingStep(), returning ${loss} (the Trainer runs zeroGrad, backward and step)`);
  return removedLossDivision;
}

/** Whether the epoch loop reports per epoch (`console.log` after the batch loop): the loss is then logged per epoch too. */
function epochPrints(m: ModuleBuilder): boolean {
  const { epoch, train } = m.structure;
  if (!epoch) return false;
  const outer = blockStatements(epoch.loop.getStatement());
  const after = [...(train.helper?.post ?? []), ...outer.slice(outer.indexOf(train.statement) + 1)];
  return after.some((s) => prints(s));
}
