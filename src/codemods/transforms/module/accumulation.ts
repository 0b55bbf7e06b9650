/**
 * Gradient accumulation by hand → the Trainer's `accumulateGradBatches`:
 *
 *   const loss = F.crossEntropy(out, y).div(accumSteps);       const loss = F.crossEntropy(out, y);
 *   loss.backward();                                      →    this.log("train_loss", loss);
 *   if ((i + 1) % accumSteps === 0) {                          return loss;
 *     optimizer.step();                                        ...
 *     optimizer.zeroGrad();                                    new Trainer({ accumulateGradBatches: 4 })
 *   }
 *
 * Lightning divides the loss trainingStep returns by `accumulateGradBatches` before backward, so
 * the script's own division goes (the gradients are the same); its other reads of the loss keep
 * the divided value (`loss.div(accumSteps).item()`). The loss trace records the loss before that
 * division (SPEC §6), so it is accumSteps times the plain script's traced loss.
 *
 * Lightning also steps after the last batch of an epoch when its window is incomplete; the plain
 * loop drops that partial window. The two agree whenever the batches of an epoch divide evenly.
 */
import type { Expression, Identifier, IfStatement, Statement } from "ts-morph";
import type { BackwardCall } from "../../analysis/types.ts";
import { Node, SyntaxKind, unwrap } from "../../morph.ts";
import type { ModuleBuilder } from "./builder.ts";

export interface Accumulation {
  ifStatement: IfStatement;
  /** The window size K as the script writes it. */
  k: Expression;
}

/** `if ((i + 1) % K === 0) { ... }` (or `i % K === K - 1`) with `i` the batch index. */
export function matchAccumulation(s: Statement, batchIdx: string | null): Accumulation | null {
  if (!Node.isIfStatement(s) || s.getElseStatement() || batchIdx === null) return null;
  const cond = unwrap(s.getExpression());
  if (!Node.isBinaryExpression(cond)) return null;
  const op = cond.getOperatorToken().getKind();
  if (op !== SyntaxKind.EqualsEqualsEqualsToken && op !== SyntaxKind.EqualsEqualsToken) return null;
  const [a, b] = [unwrap(cond.getLeft()), unwrap(cond.getRight())];
  const [mod, other] = isModulo(a) ? [a, b] : isModulo(b) ? [b, a] : [null, null];
  if (!mod || !other || !Node.isBinaryExpression(mod)) return null;
  const k = mod.getRight();
  const left = unwrap(mod.getLeft());
  const isIdx = (n: Node) => Node.isIdentifier(unwrap(n)) && unwrap(n).getText() === batchIdx;
  // (i + 1) % K === 0
  if (Node.isBinaryExpression(left) && left.getOperatorToken().getKind() === SyntaxKind.PlusToken && isIdx(left.getLeft()) && left.getRight().getText() === "1" && other.getText() === "0") {
    return { ifStatement: s, k };
  }
  // i % K === K - 1
  if (isIdx(left) && other.getText().replace(/\s+/g, "") === `${k.getText().replace(/\s+/g, "")}-1`) return { ifStatement: s, k };
  return null;
}

function isModulo(n: Node): boolean {
  return Node.isBinaryExpression(n) && n.getOperatorToken().getKind() === SyntaxKind.PercentToken;
}

/**
 * Sets the flag, and takes the script's `.div(K)` off the loss it backpropagates. Returns false
 * when there is no such division (Lightning would then train on a loss K times smaller).
 */
export function applyAccumulation(m: ModuleBuilder, acc: Accumulation, backward: BackwardCall, backwardStatement: Statement): boolean {
  m.flag("accumulateGradBatches", acc.k, (site) => site.resolve(acc.k));
  m.note(`gradient accumulation (line ${m.line(acc.ifStatement)}) → Trainer({ accumulateGradBatches: ${acc.k.getText()} })`);
  const loss = unwrap(backward.loss);
  if (!Node.isIdentifier(loss)) return false;
  const decl = m.ctx.analysis.references.declarationOf(loss);
  if (!decl || !Node.isVariableDeclaration(decl)) return false;
  const init = decl.getInitializer();
  const divided = init ? unwrap(init) : null;
  if (!divided || !Node.isCallExpression(divided)) return false;
  const callee = divided.getExpression();
  const [divisor] = divided.getArguments();
  if (!Node.isPropertyAccessExpression(callee) || callee.getName() !== "div" || divided.getArguments().length !== 1 || !divisor) return false;
  if (divisor.getText().replace(/\s+/g, "") !== acc.k.getText().replace(/\s+/g, "")) return false;
  const edits = m.ctx.edits;
  edits.delete(callee.getExpression().getEnd(), divided.getEnd(), "module-accumulation");
  // The script's other reads of the loss keep the value they had.
  for (const use of m.ctx.analysis.references.usesOf(decl.getNameNode() as Identifier)) {
    if (backwardStatement.getStart() <= use.getStart() && use.getEnd() <= backwardStatement.getEnd()) continue;
    if (edits.covers(use.getStart(), use.getEnd())) continue;
    const shorthand = Node.isShorthandPropertyAssignment(use.getParent());
    edits.insert(use.getEnd(), `${shorthand ? `: ${use.getText()}` : ""}.div(${divisor.getText()})`, "module-accumulation");
  }
  const statement = decl.getVariableStatement();
  if (statement) {
    edits.insert(statement.getStart(), "// The Trainer divides the loss by accumulateGradBatches before backward.\n", "module-accumulation", -1);
  }
  return true;
}
