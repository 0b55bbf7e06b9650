/**
 * Strips device moves: `.to(device)`, `.to("cuda:0")`, `.cuda()`, `.cpu()` (also the
 * `.cpu()` of `loss.cpu().item()`). Lite places the model in `setup()` and the batches in
 * `setupDataloaders()`, the Trainer moves the LightningModule and every batch, so the migrated
 * script must not move anything itself.
 *
 *   const model = new Net().to(device);   →  const model = new Net();
 *   model.cuda();                          →  (statement removed)
 *   x = x.to(device);                      →  (statement removed)
 *   total += loss.cpu().item();            →  total += loss.item();
 *
 * A `.to(x)` whose argument is not recognisably a device is left as it is and marked TODO.
 */
import { Node, SyntaxKind, unwrap } from "../../../morph.ts";
import type { CallExpression, Statement } from "ts-morph";
import type { DeviceMove } from "../../../analysis/types.ts";
import type { TransformContext } from "../../context.ts";
import { statementRemovalRange } from "../../shared/ranges.ts";
import type { RemovalPlan } from "./plan.ts";

export function stripDeviceMoves(ctx: TransformContext, plan: RemovalPlan): void {
  const { analysis } = ctx;
  const moveByCall = new Map<CallExpression, DeviceMove>(analysis.deviceMoves.map((m) => [m.call, m]));
  for (const move of analysis.deviceMoves) {
    if (!move.recognized) {
      ctx.todos.add(
        move.call,
        `cannot tell whether \`.to(${move.argument?.getText() ?? ""})\` is a device move; ${ctx.target === "module" ? "the Trainer" : "Lite"} moves models and batches itself, so remove it if it is one`,
      );
      continue;
    }
    // The outermost move of a chain like `x.to(device).cuda()`, and the base `x` it moves.
    let top: CallExpression = move.call;
    for (;;) {
      const access = top.getParent();
      const call = access?.getParent();
      if (access && Node.isPropertyAccessExpression(access) && call && Node.isCallExpression(call) && moveByCall.get(call)?.recognized) {
        top = call;
      } else {
        break;
      }
    }
    let base: Node = top;
    while (Node.isCallExpression(base) && moveByCall.get(base)?.recognized) base = unwrap(moveByCall.get(base)!.receiver);

    const statement = moveOnlyStatement(top, base) ?? destructuredMoveStatement(top, moveByCall) ?? mappedMoveStatement(top, base);
    if (statement) {
      plan.remove(removalOf(statement, ctx.analysis.text), "device-move-statement", replacementOf(statement));
    } else {
      plan.remove({ start: move.receiver.getEnd(), end: move.call.getEnd() }, "device-move");
    }
  }
}

/**
 * The statement that does nothing but move: `model.to(device);`, `model.cuda();`,
 * `x = x.to(device);`. Its base must be a plain reference (removing `makeNet().cuda();` would
 * drop the call).
 */
function moveOnlyStatement(top: CallExpression, base: Node): Statement | null {
  if (!isPlainReference(base)) return null;
  let parent = top.getParent();
  while (parent && Node.isParenthesizedExpression(parent)) parent = parent.getParent();
  if (parent && Node.isExpressionStatement(parent)) return parent;
  if (
    parent &&
    Node.isBinaryExpression(parent) &&
    parent.getOperatorToken().getKind() === SyntaxKind.EqualsToken &&
    unwrap(parent.getRight()) === top &&
    unwrap(parent.getLeft()).getText() === base.getText()
  ) {
    const stmt = parent.getParent();
    if (stmt && Node.isExpressionStatement(stmt)) return stmt;
  }
  return null;
}

/**
 * `[x, y] = [x.to(device), y.to(device)];`: every element moves the variable it is assigned
 * to, so without the moves the statement is `[x, y] = [x, y]` and goes entirely.
 */
function destructuredMoveStatement(top: CallExpression, moveByCall: Map<CallExpression, DeviceMove>): Statement | null {
  let array = top.getParent();
  while (array && Node.isParenthesizedExpression(array)) array = array.getParent();
  if (!array || !Node.isArrayLiteralExpression(array)) return null;
  let assignment = array.getParent();
  while (assignment && Node.isParenthesizedExpression(assignment)) assignment = assignment.getParent();
  if (!assignment || !Node.isBinaryExpression(assignment) || assignment.getOperatorToken().getKind() !== SyntaxKind.EqualsToken) return null;
  const left = unwrap(assignment.getLeft());
  if (unwrap(assignment.getRight()) !== array || !Node.isArrayLiteralExpression(left)) return null;
  const targets = left.getElements();
  const values = array.getElements();
  if (targets.length !== values.length) return null;
  const unmoved = (n: Node): Node => {
    let e = unwrap(n);
    while (Node.isCallExpression(e) && moveByCall.get(e)?.recognized) e = unwrap(moveByCall.get(e)!.receiver);
    return e;
  };
  const same = values.every((v, i) => isPlainReference(unmoved(v)) && unmoved(v).getText() === unwrap(targets[i]!).getText());
  const stmt = assignment.getParent();
  return same && stmt && Node.isExpressionStatement(stmt) ? stmt : null;
}

/**
 * `batch = batch.map((t) => t.to(device));` (minGPT): without the move the map is the identity,
 * so the statement goes entirely.
 */
function mappedMoveStatement(top: CallExpression, base: Node): Statement | null {
  let arrow = top.getParent();
  while (arrow && Node.isParenthesizedExpression(arrow)) arrow = arrow.getParent();
  if (!arrow || !Node.isArrowFunction(arrow) || unwrap(arrow.getBody()) !== top) return null;
  const params = arrow.getParameters();
  if (params.length !== 1 || params[0]!.getNameNode().getText() !== unwrap(base).getText() || !Node.isIdentifier(unwrap(base))) return null;
  const call = arrow.getParent();
  if (!call || !Node.isCallExpression(call) || call.getArguments().length !== 1 || call.getArguments()[0] !== arrow) return null;
  const callee = call.getExpression();
  if (!Node.isPropertyAccessExpression(callee) || callee.getName() !== "map" || !isPlainReference(callee.getExpression())) return null;
  let assignment = call.getParent();
  while (assignment && Node.isParenthesizedExpression(assignment)) assignment = assignment.getParent();
  if (!assignment || !Node.isBinaryExpression(assignment) || assignment.getOperatorToken().getKind() !== SyntaxKind.EqualsToken) return null;
  if (unwrap(assignment.getRight()) !== call || unwrap(assignment.getLeft()).getText() !== unwrap(callee.getExpression()).getText()) return null;
  const stmt = assignment.getParent();
  return stmt && Node.isExpressionStatement(stmt) ? stmt : null;
}

function isPlainReference(n: Node): boolean {
  const e = unwrap(n);
  if (Node.isIdentifier(e) || e.getKind() === SyntaxKind.ThisKeyword) return true;
  if (Node.isPropertyAccessExpression(e)) return isPlainReference(e.getExpression());
  if (Node.isElementAccessExpression(e)) {
    const arg = e.getArgumentExpression();
    return arg !== undefined && (Node.isNumericLiteral(arg) || Node.isStringLiteral(arg)) && isPlainReference(e.getExpression());
  }
  return false;
}

/** Whole lines for a statement in a block; just the statement where it is an `if`'s body. */
export function removalOf(statement: Node, text: string): { start: number; end: number } {
  return inStatementList(statement) ? statementRemovalRange(statement, text) : { start: statement.getStart(), end: statement.getEnd() };
}

/** `if (c) model.cuda();` cannot lose its body: it becomes `if (c) {}` (and usually goes entirely). */
export function replacementOf(statement: Node): string {
  return inStatementList(statement) ? "" : "{}";
}

export function inStatementList(statement: Node): boolean {
  const p = statement.getParent();
  return p !== undefined && (Node.isBlock(p) || Node.isSourceFile(p) || Node.isCaseClause(p) || Node.isDefaultClause(p) || Node.isModuleBlock(p));
}
