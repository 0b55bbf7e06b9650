/**
 * Removes `if`s that only choose a device:
 *
 *   if (cuda.isAvailable()) { model.cuda(); }            → (removed)
 *   if (cuda.isAvailable()) { x = x.cuda(); y = y.cuda(); }
 *   if (useCuda) device = "cuda";                         (once `device` is removed)
 *
 * The condition must only read device state (no calls besides `cuda.isAvailable()` /
 * `cuda.deviceCount()`), and every branch must be empty once the planned removals are done.
 * An `if` that also does something else keeps that part (its moves are stripped one by one).
 */
import { Node, SyntaxKind } from "../../../morph.ts";
import type { IfStatement, Statement } from "ts-morph";
import type { ReferenceIndex } from "../../../analysis/references.ts";
import type { TransformContext } from "../../context.ts";
import { statementRemovalRange } from "../../shared/ranges.ts";
import type { RemovalPlan } from "./plan.ts";
import { inStatementList } from "./strip-moves.ts";

/** Returns how many conditionals it planned to remove (0 when nothing changed). */
export function removeDeviceConditionals(ctx: TransformContext, plan: RemovalPlan, removedVariables: Set<Node>): number {
  const conditionals = new Set<Node>(ctx.analysis.deviceConditionals);
  const refs = ctx.analysis.references;
  let removed = 0;
  for (const s of ctx.analysis.deviceConditionals) {
    if (!inStatementList(s) || plan.coversNode(s)) continue;
    if (isDeviceOnly(s, plan, conditionals, removedVariables, refs)) {
      plan.remove(statementRemovalRange(s, ctx.analysis.text), "device-conditional");
      removed++;
    }
  }
  return removed;
}

/** True when a statement does nothing once the device code is gone. */
export function isDeviceOnly(s: Statement | Node, plan: RemovalPlan, conditionals: Set<Node>, removedVariables: Set<Node>, refs: ReferenceIndex): boolean {
  if (plan.coversNode(s)) return true;
  if (Node.isBlock(s)) return s.getStatements().every((c) => isDeviceOnly(c, plan, conditionals, removedVariables, refs));
  if (Node.isEmptyStatement(s)) return true;
  if (Node.isIfStatement(s)) {
    if (!conditionals.has(s)) return false;
    const otherwise = (s as IfStatement).getElseStatement();
    return (
      isDeviceOnly(s.getThenStatement(), plan, conditionals, removedVariables, refs) &&
      (otherwise === undefined || isDeviceOnly(otherwise, plan, conditionals, removedVariables, refs))
    );
  }
  if (Node.isExpressionStatement(s)) {
    // `device = "cuda"` where `device` is a device variable that is being removed.
    const e = s.getExpression();
    if (Node.isBinaryExpression(e) && e.getOperatorToken().getKind() === SyntaxKind.EqualsToken) {
      const left = e.getLeft();
      if (!Node.isIdentifier(left)) return false;
      const decl = refs.declarationOf(left);
      return decl !== undefined && removedVariables.has(decl);
    }
  }
  return false;
}
