/**
 * Removes device variables nobody reads any more:
 *
 *   const device = cuda.isAvailable() ? "cuda" : "cpu";   → (removed, once every `.to(device)` is)
 *   let device = "cpu"; if (useCuda) device = "cuda";      → (both removed)
 *   const useCuda = cuda.isAvailable();                    → (removed once its `if` is)
 *
 * A device variable still read elsewhere (`console.log(\`on ${device}\`)`) stays, so the script
 * keeps working.
 */
import { Node, SyntaxKind } from "../../../morph.ts";
import type { Identifier, VariableDeclaration } from "ts-morph";
import type { TransformContext } from "../../context.ts";
import { statementRemovalRange } from "../../shared/ranges.ts";
import type { RemovalPlan } from "./plan.ts";
import { removalOf, replacementOf } from "./strip-moves.ts";

export function removeDeadDeviceVariables(ctx: TransformContext, plan: RemovalPlan, removedVariables: Set<Node>): number {
  const { analysis } = ctx;
  let removed = 0;
  for (const { declaration } of analysis.deviceVariables) {
    if (removedVariables.has(declaration)) continue;
    const statement = declaration.getVariableStatement();
    if (!statement || statement.isExported()) continue;
    const writes: Node[] = [];
    const dead = analysis.references.usesOf(declaration.getNameNode() as Identifier).every((use) => {
      if (plan.coversNode(use)) return true;
      const write = deviceWriteStatement(use, ctx);
      if (write) writes.push(write);
      return write !== null;
    });
    if (!dead) continue;
    removedVariables.add(declaration);
    removed++;
    for (const w of writes) plan.remove(removalOf(w, analysis.text), "device-variable-write", replacementOf(w));
    const declarations = statement.getDeclarations();
    if (declarations.every((d: VariableDeclaration) => removedVariables.has(d))) {
      plan.remove(statementRemovalRange(statement, analysis.text), "device-variable");
    } else {
      plan.removeListElement(declaration, declarations);
    }
  }
  return removed;
}

/** `device = <device expression>;` as a whole statement, for a use that is its left side. */
function deviceWriteStatement(use: Node, ctx: TransformContext): Node | null {
  const assign = use.getParent();
  if (!assign || !Node.isBinaryExpression(assign) || assign.getLeft() !== use) return null;
  if (assign.getOperatorToken().getKind() !== SyntaxKind.EqualsToken) return null;
  if (!ctx.analysis.device.isDeviceInitializer(assign.getRight())) return null;
  const statement = assign.getParent();
  return statement && Node.isExpressionStatement(statement) ? statement : null;
}
