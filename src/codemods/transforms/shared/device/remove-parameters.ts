/**
 * Removes `device` parameters of helper functions once the body no longer reads them, and the
 * matching argument at every call:
 *
 *   function evaluate(model: Net, loader: data.DataLoader, device: string) {...}
 *   evaluate(model, testLoader, device);
 * →
 *   function evaluate(model: Net, loader: data.DataLoader) {...}
 *   evaluate(model, testLoader);
 *
 * Only when every reference to the function is a direct call (a helper passed around as a
 * value keeps its signature), and each removed argument is side-effect free.
 */
import { Node, SyntaxKind, unwrap } from "../../../morph.ts";
import type { Identifier } from "ts-morph";
import type { TransformContext } from "../../context.ts";
import type { RemovalPlan } from "./plan.ts";

export function removeDeviceParameters(ctx: TransformContext, plan: RemovalPlan): number {
  const { analysis } = ctx;
  let removed = 0;
  for (const { fn, parameter, index } of analysis.deviceParameters) {
    const params = fn.node.getParameters();
    if (plan.isListElementRemoved(parameter, params)) continue;
    if (fn.otherReferences.length > 0 || parameter.isRestParameter() || !Node.isIdentifier(parameter.getNameNode())) continue;
    const uses = analysis.references.usesOf(parameter.getNameNode() as Identifier);
    if (!uses.every((u) => plan.coversNode(u))) continue;
    const argumentsOk = fn.calls.every((call) => {
      const args = call.getArguments();
      if (args.slice(0, index + 1).some((a) => Node.isSpreadElement(a))) return false;
      const arg = args[index];
      return arg === undefined || plan.coversNode(arg) || isSideEffectFree(arg);
    });
    if (!argumentsOk) continue;
    plan.removeListElement(parameter, params);
    for (const call of fn.calls) {
      const args = call.getArguments();
      const arg = args[index];
      if (arg) plan.removeListElement(arg, args);
    }
    removed++;
  }
  return removed;
}

function isSideEffectFree(n: Node): boolean {
  const e = unwrap(n);
  if (Node.isIdentifier(e) || Node.isStringLiteral(e) || Node.isNumericLiteral(e) || Node.isNoSubstitutionTemplateLiteral(e)) return true;
  if (Node.isTrueLiteral(e) || Node.isFalseLiteral(e) || Node.isNullLiteral(e)) return true;
  if (Node.isPropertyAccessExpression(e)) return isSideEffectFree(e.getExpression());
  if (Node.isConditionalExpression(e)) return isSideEffectFree(e.getCondition()) && isSideEffectFree(e.getWhenTrue()) && isSideEffectFree(e.getWhenFalse());
  if (Node.isTemplateExpression(e)) return e.getTemplateSpans().every((s) => isSideEffectFree(s.getExpression()));
  return e.getKind() === SyntaxKind.ThisKeyword;
}
