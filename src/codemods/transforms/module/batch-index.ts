/**
 * A batch counter kept by hand becomes trainingStep's `batchIdx` parameter:
 *
 *   let i = 0;                                   trainingStep([x, y]: [...], i: number) {
 *   for (const [x, y] of loader) {         →       ...
 *     ...; if (i % 4 === 0) console.log(...);      if (i % 4 === 0) this.print(...);
 *     i++;                                       }
 *   }
 *
 * Only a counter that is exactly the index of the batch in its epoch: set to 0 before the loop
 * (in the epoch), incremented once as the loop body's last statement, read only inside the
 * loop, and no `continue` that would skip the increment.
 */
import type { Identifier, Statement, VariableStatement } from "ts-morph";
import { Node, SyntaxKind } from "../../morph.ts";
import type { ModuleBuilder } from "./builder.ts";
import { isWrite } from "../shared/writes.ts";
import { jumpsOutOf, within } from "./statements.ts";

export interface BatchCounter {
  name: string;
  declaration: VariableStatement;
  increment: Statement;
}

/** `before`: the statements that run before the loop in each epoch (the epoch body's, the helper's). */
export function findBatchCounter(m: ModuleBuilder, before: Statement[]): BatchCounter | null {
  const loop = m.structure.train.loop;
  const body = loop.getStatement();
  if (!Node.isBlock(body)) return null;
  const last = body.getStatements().at(-1);
  if (!last || !Node.isExpressionStatement(last)) return null;
  if (jumpsOutOf(loop, SyntaxKind.ContinueStatement).length > 0) return null;
  const e = last.getExpression();
  let counter: Node | null = null;
  if ((Node.isPostfixUnaryExpression(e) || Node.isPrefixUnaryExpression(e)) && e.getOperatorToken() === SyntaxKind.PlusPlusToken) {
    counter = e.getOperand();
  } else if (Node.isBinaryExpression(e) && e.getOperatorToken().getKind() === SyntaxKind.PlusEqualsToken && e.getRight().getText() === "1") {
    counter = e.getLeft();
  }
  if (!counter || !Node.isIdentifier(counter)) return null;
  const decl = m.ctx.analysis.references.declarationOf(counter);
  if (!decl || !Node.isVariableDeclaration(decl) || decl.getInitializer()?.getText() !== "0") return null;
  const statement = decl.getVariableStatement();
  if (!statement || !before.includes(statement) || statement.getDeclarations().length !== 1) return null;
  for (const use of m.ctx.analysis.references.usesOf(counter as Identifier)) {
    if (use === counter) continue;
    if (!within(use, body) || isWrite(use)) return null;
  }
  return { name: counter.getText(), declaration: statement, increment: last };
}
