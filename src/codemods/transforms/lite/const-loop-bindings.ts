/**
 * `for (let [x, y] of loader)` was `let` only so that `x = x.cuda()` could reassign it; once
 * those moves are gone, the binding is `const` again. Loops whose bindings are still written
 * keep `let`, and so do loops that were `let` for no device reason.
 */
import { Node, SyntaxKind, VariableDeclarationKind } from "../../morph.ts";
import type { ForOfStatement, Identifier } from "ts-morph";
import type { TransformContext } from "../context.ts";
import { isWrite } from "../shared/writes.ts";

export function constLoopBindings(ctx: TransformContext): void {
  const { analysis, edits } = ctx;
  const loops = new Set<ForOfStatement>([...analysis.trainingLoops.map((l) => l.batchLoop), ...analysis.evalLoops.map((l) => l.loop)]);
  for (const loop of loops) {
    const init = loop.getInitializer();
    if (!Node.isVariableDeclarationList(init) || init.getDeclarationKind() !== VariableDeclarationKind.Let) continue;
    const names = init.getDeclarations().flatMap((d) => d.getNameNode().getDescendantsOfKind(SyntaxKind.Identifier).concat(Node.isIdentifier(d.getNameNode()) ? [d.getNameNode() as Identifier] : []));
    let removedWrites = 0;
    let keptWrites = 0;
    for (const name of names) {
      for (const use of analysis.references.usesOf(name)) {
        if (!writesBinding(use)) continue;
        if (edits.covers(use.getStart(), use.getEnd())) removedWrites++;
        else keptWrites++;
      }
    }
    if (removedWrites === 0 || keptWrites > 0) continue;
    edits.replace(init.getStart(), init.getStart() + "let".length, "const", "const-loop-binding");
  }
}

/** A write of the binding: an assignment or increment, or an element of a destructuring assignment (`[x, y] = [...]`). */
function writesBinding(id: Node): boolean {
  let parent = id.getParent();
  let target: Node = id;
  while (parent && Node.isArrayLiteralExpression(parent)) {
    target = parent;
    parent = parent.getParent();
  }
  if (target !== id) return !!parent && Node.isBinaryExpression(parent) && parent.getLeft() === target && parent.getOperatorToken().getKind() === SyntaxKind.EqualsToken;
  return isWrite(id);
}
