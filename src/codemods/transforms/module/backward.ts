/**
 * `loss.backward();` in the batch loop → `this.log("train_loss", loss);` under automatic
 * optimisation (`training-step.ts`: the Trainer backpropagates what trainingStep returns), or
 * `this.manualBackward(loss);` and the log under manual optimisation (`manual-optimization.ts`).
 * A loss written inline (`F.mseLoss(out, y).backward()`) gets a name first.
 */
import type { ExpressionStatement } from "ts-morph";
import type { BackwardCall } from "../../analysis/types.ts";
import { Node } from "../../morph.ts";
import type { ModuleBuilder } from "./builder.ts";
import { freshName } from "./statements.ts";

export interface BackwardRewrite {
  /** The metric the loss is logged as (`train_loss`). */
  metric: string;
  manual: boolean;
  /** Extra options of the loss's `this.log` (`, { onEpoch: true, progBar: true }`), or "". */
  logOptions: string;
}

/** Rewrites one backward call; returns the loss's name. */
export function rewriteBackward(m: ModuleBuilder, b: BackwardCall, statement: ExpressionStatement | null, { metric, manual, logOptions }: BackwardRewrite): string {
  const { edits } = m.ctx;
  const loss = b.loss;
  const options = b.extraArguments.length > 0 ? `, ${b.extraArguments.map((a) => edits.render(a.getStart(), a.getEnd())).join(", ")}` : "";
  const named = Node.isIdentifier(loss) ? loss.getText() : null;
  const name = named ?? freshName(m, m.structure.train.loop, "loss");
  const log = `this.log(${JSON.stringify(metric)}, ${name}${logOptions});`;
  if (!statement || (manual && !named)) {
    // Manual optimisation keeps the script's expressions: a loss with no name (or a backward
    // inside an expression) is backpropagated in place, without a log.
    if (b.form === "method") {
      edits.insert(loss.getStart(), "this.manualBackward(", "module-backward");
      edits.replace(loss.getEnd(), b.call.getEnd(), `${options})`, "module-backward");
    } else {
      edits.replace(b.call.getExpression().getStart(), b.call.getExpression().getEnd(), "this.manualBackward", "module-backward");
    }
    m.ctx.counts.backwardRewritten++;
    return name;
  }
  const head = named ? "" : `const ${name} = `;
  const tail = manual ? `;\nthis.manualBackward(${name}${options});\n${log}` : `;\n${log}`;
  if (named) {
    edits.replace(statement.getStart(), statement.getEnd(), manual ? `this.manualBackward(${name}${options});\n${log}` : log, "module-backward");
  } else {
    edits.replace(statement.getStart(), loss.getStart(), head, "module-backward");
    edits.replace(loss.getEnd(), statement.getEnd(), tail, "module-backward");
  }
  m.ctx.counts.backwardRewritten++;
  return name;
}
