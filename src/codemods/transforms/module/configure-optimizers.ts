/**
 * The optimizers and schedulers move into `configureOptimizers`, with what only they use
 * (`const params = model.parameters();`), in the script's order:
 *
 *   one optimizer                 → return new optim.Adam(this.parameters(), { lr: this.args.lr });
 *   + a scheduler                 → return { optimizer, lrScheduler: { scheduler, interval: "epoch" } };
 *   + ReduceLROnPlateau(valLoss)  → return { optimizer, lrScheduler: { scheduler, interval: "epoch", monitor: "val_loss" } };
 *   several (manual optimisation) → return [optG, optD];   (with schedulers: [[optG, optD], [schedulerG]])
 *
 * The interval is where the script stepped the scheduler (`schedulers.ts`); the Trainer then
 * steps it at the same point, and the script's `scheduler.step()` goes.
 */
import type { Identifier, Statement } from "ts-morph";
import type { SchedulerInstance } from "../../analysis/types.ts";
import { Node, SyntaxKind } from "../../morph.ts";
import type { ModuleBuilder } from "./builder.ts";
import { optimizerSite } from "../../analysis/optimizer-factories.ts";
import type { SchedulerStep } from "./schedulers.ts";
import { CannotMap } from "./structure.ts";
import { declaredNames } from "./statements.ts";
import type { TrainingStep } from "./training-step.ts";

/**
 * Places the optimizers and schedulers (and what only they read) in configureOptimizers; returns
 * those statements, in the script's order, for `finishConfigureOptimizers`.
 */
export function buildConfigureOptimizers(m: ModuleBuilder, training: TrainingStep): Statement[] {
  const { analysis, edits } = m.ctx;
  const entry = m.structure.entry.statements;
  const trainingStart = m.structure.trainingStatement.getStart();
  const { optimizers, schedulers } = analysis;

  const own = new Set<Statement>();
  const add = (node: Node, what: string) => {
    const s = entry.find((t) => t.getStart() <= node.getStart() && node.getEnd() <= t.getEnd());
    // `optimizer = new optim.SGD(...)` again before training (the tutorial rebuilds it): the
    // declaration and every such assignment go to configureOptimizers, in order; the last wins.
    const declaration = s && s.getStart() < trainingStart ? reassignedDeclaration(s, m) : null;
    if (declaration) {
      own.add(declaration);
      own.add(s!);
      return;
    }
    if (!s || s.getStart() > trainingStart || !Node.isVariableStatement(s)) {
      throw new CannotMap(node, `${what} is not created before training in the training function's body; configureOptimizers() must create it`);
    }
    if (s.getDeclarations().length !== 1) throw new CannotMap(s, `declare ${what} on its own so that it can move into configureOptimizers()`);
    own.add(s);
  };
  for (const o of optimizers) add(optimizerSite(o), o.name ?? `the ${o.className} optimizer`);
  // `optimizer = new optim.SGD(...)` again before training, for a declared optimizer.
  for (const s of entry) {
    if (s.getStart() < trainingStart && !own.has(s)) {
      const declaration = reassignedDeclaration(s, m);
      if (declaration && own.has(declaration)) own.add(s);
    }
  }
  for (const s of schedulers) add(s.construction, s.name ?? `the ${s.className} scheduler`);

  // What only the optimizers and schedulers read moves with them.
  for (let changed = true; changed; ) {
    changed = false;
    for (const s of entry) {
      if (s.getStart() > trainingStart || own.has(s) || m.isPlaced(s) || m.config.has(s) || !Node.isVariableStatement(s)) continue;
      const names = declaredNames(s);
      if (names.length === 0) continue;
      const uses = names.flatMap((n) => analysis.references.usesOf(n));
      if (uses.length > 0 && uses.every((u) => [...own].some((o) => o.getStart() <= u.getStart() && u.getEnd() <= o.getEnd()))) {
        own.add(s);
        changed = true;
      }
    }
  }
  const ordered = entry.filter((s) => own.has(s));
  for (const s of ordered) m.place(s, "configureOptimizers");

  // Plateau metrics are logged where the script stepped the scheduler; other epoch steps go.
  for (const step of training.schedulerSteps) {
    if (step.interval !== "epoch") continue;
    if (step.monitor) {
      const v = step.monitor.value;
      edits.replace(step.statement.getStart(), v.getStart(), `this.log(${JSON.stringify(step.monitor.name)}, `, "module-scheduler");
      edits.replace(v.getEnd(), step.statement.getEnd(), ");", "module-scheduler");
    } else {
      m.place(step.statement, "drop");
    }
  }

  for (const o of optimizers) m.note(`${o.name ?? o.className} (line ${m.line(optimizerSite(o))}) → configureOptimizers()`);
  for (const s of schedulers) {
    const step = training.schedulerSteps.find((t) => t.scheduler === s);
    m.note(
      `${s.name ?? s.className} (line ${m.line(s.construction)}) → configureOptimizers()` +
        (step ? `, interval "${step.interval}"${step.monitor ? `, monitor "${step.monitor.name}"` : ""}` : ", stepped by the training step"),
    );
  }
  return ordered;
}

/** The return statement, once every statement has its place (a lone optimizer is returned as it is built). */
export function finishConfigureOptimizers(m: ModuleBuilder, training: TrainingStep, ordered: Statement[]): void {
  const { edits } = m.ctx;
  const { optimizers, schedulers } = m.ctx.analysis;
  const nameOf = (n: { name: string | null }) => n.name!;
  const handedIn = m.ctx.analysis.handedInOptimizer;
  if (handedIn) {
    // The optimizer the callers built, kept by the constructor: returned as it is (its parameters are the model's).
    m.append("configureOptimizers", `return this.${m.parameterProperties.get(handedIn) ?? handedIn.getName()};`);
    return;
  }
  let result: string;
  // One optimizer without schedulers is returned as it is, whether the Trainer steps it or the step does.
  if (!training.manual || (optimizers.length === 1 && schedulers.length === 0)) {
    const opt = optimizers[0]!;
    const configs = schedulers.map((s) => schedulerConfig(training.schedulerSteps, s));
    const last = ordered[ordered.length - 1];
    if (configs.length === 0 && last && Node.isVariableStatement(last) && last.getDeclarations()[0] === opt.declaration) {
      // `const optimizer = new optim.Adam(...)` → `return new optim.Adam(...)` (other methods
      // get the optimizer from `this.optimizers()`, not from this variable).
      const init = last.getDeclarations()[0]!.getInitializerOrThrow();
      edits.replace(last.getStart(), init.getStart(), "return ", "module-optimizers");
      edits.replace(init.getEnd(), last.getEnd(), ";", "module-optimizers");
      result = "";
    } else if (configs.length === 0) {
      result = `return ${nameOf(opt)};`;
    } else if (configs.length === 1) {
      const key = nameOf(opt) === "optimizer" ? "optimizer" : `optimizer: ${nameOf(opt)}`;
      result = `return { ${key}, lrScheduler: ${configs[0]} };`;
    } else {
      result = `return [[${nameOf(opt)}], [${configs.join(", ")}]];`;
    }
  } else if (optimizers.length === 1 && schedulers.length === 1) {
    // (the step steps the scheduler itself, through this.lrSchedulers())
    const [opt, sched] = [nameOf(optimizers[0]!), nameOf(schedulers[0]!)];
    result = `return { ${opt === "optimizer" ? opt : `optimizer: ${opt}`}, ${sched === "lrScheduler" ? sched : `lrScheduler: ${sched}`} };`;
  } else {
    const list = optimizers.map(nameOf).join(", ");
    result = schedulers.length === 0 ? `return [${list}];` : `return [[${list}], [${schedulers.map(nameOf).join(", ")}]];`;
  }
  if (result) m.append("configureOptimizers", result);
}

/** `{ scheduler, interval: "epoch" }` for one scheduler, from where the script stepped it. */
function schedulerConfig(steps: SchedulerStep[], s: SchedulerInstance): string {
  const step = steps.find((t) => t.scheduler === s)!;
  const key = s.name === "scheduler" ? "scheduler" : `scheduler: ${s.name}`;
  const monitor = step.monitor ? `, monitor: ${JSON.stringify(step.monitor.name)}` : "";
  // `as const`: the method has no declared return type, and a plain string is not an interval.
  return `{ ${key}, interval: ${JSON.stringify(step.interval)} as const${monitor} }`;
}

/** For `x = new ...;` as a statement of the entry, the `let x` statement of the entry declaring x (declaring only x). */
function reassignedDeclaration(s: Statement, m: ModuleBuilder): Statement | null {
  // `if (args.useOptimizer) { optimizer = new optim.AdamW(...); }`: an optimizer only some runs
  // create (word_language_model); configureOptimizers returns it, or nothing.
  if (Node.isIfStatement(s) && !s.getElseStatement()) {
    const then = s.getThenStatement();
    const inner = Node.isBlock(then) ? then.getStatements() : [then];
    return inner.length === 1 ? reassignedDeclaration(inner[0]!, m) : null;
  }
  if (!Node.isExpressionStatement(s)) return null;
  const e = s.getExpression();
  if (!Node.isBinaryExpression(e) || e.getOperatorToken().getKind() !== SyntaxKind.EqualsToken || !Node.isIdentifier(e.getLeft())) return null;
  const decl = m.ctx.analysis.references.declarationOf(e.getLeft() as Identifier);
  if (!decl || !Node.isVariableDeclaration(decl)) return null;
  const statement = decl.getVariableStatement();
  if (!statement || statement.getDeclarations().length !== 1 || !m.structure.entry.statements.includes(statement)) return null;
  return statement;
}
