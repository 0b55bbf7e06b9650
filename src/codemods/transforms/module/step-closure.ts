/**
 * A rewrite of the plain script before `--to module` reads it: an optimizer step driven by a
 * closure (LBFGS, and any optimizer called as `step(closure)`) is written out as the plain
 * statements the rest of the pipeline knows.
 *
 *   const closure = () => {                       optimizer.zeroGrad();
 *     optimizer.zeroGrad();                        const loss = criterion.forward(seq.forward(x), y);
 *     const loss = criterion.forward(...);    →    loss.backward();
 *     loss.backward();                             optimizer.step();
 *     return loss;
 *   };
 *   optimizer.step(closure);
 *
 * Only as input to automatic optimisation is that the same program: the Trainer hands
 * `optimizer.step` a closure running trainingStep, zeroGrad and backward, which LBFGS calls as
 * often as the script's closure was called (test/runtime/trainer/equivalence.test.ts). Under
 * manual optimisation the written-out `step()` would lose the closure, so migrate.ts refuses that
 * combination.
 */
import type { ArrowFunction, FunctionExpression, Statement } from "ts-morph";
import type { ScriptAnalysis } from "../../analysis/types.ts";
import { EditSet } from "../../edits.ts";
import { positionAt } from "../../errors.ts";
import { Node, SyntaxKind, unwrap } from "../../morph.ts";
import type { InputRewrite } from "./input-rewrite.ts";
import { declaredNames, returnsIn, within } from "./statements.ts";
import { statementOfCall } from "../../analysis/functions.ts";

export function inlineStepClosures(analysis: ScriptAnalysis): InputRewrite | null {
  const edits = new EditSet(analysis.text);
  const lines: number[] = [];
  const done = new Set<Node>();
  for (const b of analysis.backwardCalls) {
    const fn = b.call.getFirstAncestor((a) => Node.isArrowFunction(a) || Node.isFunctionExpression(a) || Node.isFunctionDeclaration(a) || Node.isMethodDeclaration(a));
    if (!fn || done.has(fn) || !(Node.isArrowFunction(fn) || Node.isFunctionExpression(fn))) continue;
    const site = closureSite(fn, analysis);
    if (!site) continue;
    done.add(fn);
    const body = fn.getBody() as Node & { getStatements(): Statement[] };
    const statements = body.getStatements();
    const kept = statements.slice(0, -1).map((s) => s.getText()).join("\n");
    const replaced = `${kept}\n${site.optimizer}.step();`;
    const start = site.first.getStart();
    edits.replace(start, site.last.getEnd(), replaced, "step-closure");
    lines.push(positionAt(analysis.text, start).line);
  }
  if (lines.length === 0) return null;
  return {
    text: edits.apply(),
    note: `optimizer.step(closure) (line ${lines.join(", ")}) → the closure's statements in trainingStep: the Trainer passes optimizer.step a closure running them (zeroGrad, trainingStep, backward), as often as the optimizer asks`,
  };
}

interface ClosureSite {
  optimizer: string;
  /** The statements the closure and its step occupy, first and last. */
  first: Statement;
  last: Statement;
}

/**
 * `const c = () => {...; return loss;}; opt.step(c);` (adjacent statements, `c` used nowhere
 * else) or `opt.step(() => {...; return loss;});`, with `opt` an optimizer of the script, no
 * parameters, one `return` (the last statement, of the loss backward() ran on), and no name the
 * closure declares already declared beside it.
 */
function closureSite(fn: ArrowFunction | FunctionExpression, analysis: ScriptAnalysis): ClosureSite | null {
  const body = fn.getBody();
  if (!Node.isBlock(body) || fn.getParameters().length > 0 || fn.isAsync()) return null;
  const statements = body.getStatements();
  const last = statements.at(-1);
  if (!last || !Node.isReturnStatement(last) || !last.getExpression() || !Node.isIdentifier(unwrap(last.getExpression()!))) return null;
  const returned = analysis.references.declarationOf(unwrap(last.getExpression()!) as never);
  const returnsLoss = analysis.backwardCalls.some((b) => Node.isIdentifier(unwrap(b.loss)) && analysis.references.declarationOf(unwrap(b.loss) as never) === returned);
  if (!returnsLoss) return null;
  // Returns nested in blocks (not functions) would leave the step early.
  if (returnsIn(body).length !== 1) return null;
  if (fn.getDescendantsOfKind(SyntaxKind.ThisKeyword).length > 0) return null;

  const parent = fn.getParent();
  let stepCall: Node | undefined;
  let first: Statement;
  if (parent && Node.isVariableDeclaration(parent) && Node.isIdentifier(parent.getNameNode())) {
    const uses = analysis.references.usesOf(parent.getNameNode() as never);
    if (uses.length !== 1) return null;
    stepCall = uses[0]!.getParent();
    if (!stepCall || !Node.isCallExpression(stepCall) || stepCall.getArguments().length !== 1 || stepCall.getArguments()[0] !== uses[0]) return null;
    const declStatement = parent.getVariableStatement();
    if (!declStatement || declStatement.getDeclarations().length !== 1) return null;
    first = declStatement;
  } else if (parent && Node.isCallExpression(parent) && parent.getArguments().length === 1) {
    stepCall = parent;
    first = statementOfCall(parent)!;
    if (!first) return null;
  } else {
    return null;
  }
  const callee = (stepCall as Node & { getExpression(): Node }).getExpression();
  if (!Node.isPropertyAccessExpression(callee) || callee.getName() !== "step") return null;
  const receiver = unwrap(callee.getExpression());
  if (!Node.isIdentifier(receiver)) return null;
  const optimizerDecl = analysis.references.declarationOf(receiver);
  if (!analysis.optimizers.some((o) => o.declaration === optimizerDecl)) return null;
  const stepStatement = statementOfCall(stepCall);
  if (!stepStatement) return null;
  const siblings = (first.getParent() as Node & { getStatements?(): Statement[] }).getStatements?.() ?? [];
  const i = siblings.indexOf(first);
  const j = siblings.indexOf(stepStatement);
  if (i === -1 || (j !== i + 1 && j !== i)) return null;
  // The closure's names now live in the enclosing block: nothing else there may name them,
  // but for names a nested function or block declares for itself.
  const block = first.getParent()!;
  const inRange = (id: Node) => id.getStart() >= first.getStart() && id.getEnd() <= stepStatement.getEnd();
  const clashes = (name: string) =>
    analysis.references.identifiersNamed(name).some((id) => {
      if (!within(id, block) || inRange(id)) return false;
      const decl = analysis.references.declarationOf(id);
      return decl === undefined || !within(decl, block) || decl.getFirstAncestor((a) => Node.isBlock(a) || Node.isSourceFile(a)) === block;
    });
  if (statements.some((s) => declaredNames(s).some((n) => clashes(n.getText())))) return null;
  return { optimizer: receiver.getText(), first, last: stepStatement };
}
