/**
 * When the plain script steps each learning-rate scheduler, which is what Lightning's
 * `interval` says:
 *
 *   for (... of loader) { ...; optimizer.step(); scheduler.step(); }     → interval: "step"
 *   for (epoch ...) { for (... of loader) {...}; scheduler.step(); }      → interval: "epoch"
 *   scheduler.step(valLoss)  (ReduceLROnPlateau, per epoch)               → interval: "epoch", monitor: "val_loss"
 *
 * A plateau scheduler's metric is logged under the monitored name in `onTrainEpochEnd`, where
 * the plain script computed it; the Trainer steps plateau schedulers right after that hook.
 * Anything else (a scheduler stepped under a condition, inside a helper's loop, ...) is left to
 * manual optimisation, which keeps the script's own `scheduler.step()` calls.
 */
import type { ExpressionStatement, Statement } from "ts-morph";
import type { SchedulerInstance } from "../../analysis/types.ts";
import { Node, SyntaxKind } from "../../morph.ts";
import { snakeCase, type ModuleBuilder } from "./builder.ts";
import { blockStatements } from "./structure.ts";
import { callStatement } from "./statements.ts";

export interface SchedulerStep {
  scheduler: SchedulerInstance;
  statement: ExpressionStatement;
  interval: "step" | "epoch";
  /** For `scheduler.step(metric)`: the metric's name (logged in onTrainEpochEnd) and value. */
  monitor: { name: string; value: Node } | null;
}

/**
 * The scheduler steps of the script when every one of them has a Lightning interval; otherwise
 * the reason why not. `stepList`/`afterStep`: the statements after the optimizer step in its list.
 */
export function findSchedulerSteps(m: ModuleBuilder, afterStep: Statement[], bodyAfterStep: Statement[]): SchedulerStep[] | string {
  const { analysis } = m.ctx;
  const out: SchedulerStep[] = [];
  const epochLevel = epochLevelStatements(m);
  for (const scheduler of analysis.schedulers) {
    if (!scheduler.declaration) return `the ${scheduler.className} scheduler is not assigned to a variable`;
    const decls = new Set<Node>([scheduler.declaration]);
    const name = scheduler.declaration.getNameNode();
    const stepCalls = analysis.references
      .usesOf(name as never)
      .map((u) => u.getParent())
      .filter((p): p is Node => p !== undefined && Node.isPropertyAccessExpression(p) && p.getName() === "step" && Node.isCallExpression(p.getParent()));
    if (stepCalls.length !== 1) return `${scheduler.name}.step() is called ${stepCalls.length === 0 ? "nowhere" : `${stepCalls.length} times`}`;
    const statement = stepCalls[0]!.getParentOrThrow().getParent();
    if (!statement || !Node.isExpressionStatement(statement)) return `${scheduler.name}.step() is not a statement of its own`;
    const call = callStatement(statement, decls, ["step"], m)!;
    const args = call.getArguments();
    if ([...afterStep, ...bodyAfterStep].includes(statement)) {
      if (args.length > 0) return `${scheduler.name}.step(metric) is called for every batch`;
      out.push({ scheduler, statement, interval: "step", monitor: null });
    } else if (epochLevel.includes(statement)) {
      if (args.length > 1) return `${scheduler.name}.step() is given ${args.length} arguments`;
      const monitor = args.length === 1 ? { name: metricName(args[0]!), value: args[0]! as Node } : null;
      out.push({ scheduler, statement, interval: "epoch", monitor });
    } else {
      return `${scheduler.name}.step() is called where the Trainer has no matching interval (line ${m.line(statement)})`;
    }
  }
  return out;
}

/** Statements that run once per epoch after the batch loop: the epoch body's, and the training helper's after its loop. */
function epochLevelStatements(m: ModuleBuilder): Statement[] {
  const { epoch, train } = m.structure;
  const outer = epoch ? blockStatements(epoch.loop.getStatement()) : m.structure.entry.statements;
  const after = outer.slice(outer.indexOf(train.statement) + 1);
  return [...(train.helper?.post ?? []), ...after];
}

/** `valLoss` → `val_loss`, `valLoss / valSet.length` → `val_loss`: the name a plateau metric is logged as. */
function metricName(value: Node): string {
  const first = Node.isIdentifier(value) ? value : value.getFirstDescendantByKind(SyntaxKind.Identifier);
  return first ? snakeCase(first.getText()) : "monitor";
}
