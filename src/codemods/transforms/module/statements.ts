/** Small questions about statements that several `--to module` transforms ask. */
import type { CallExpression, Identifier, Statement } from "ts-morph";
import { isFunctionLike } from "../../analysis/functions.ts";
import { Node, SyntaxKind, isLoop, unwrap, within } from "../../morph.ts";
// (the module transforms import them from here, with the other questions about statements)
export { isLoop, within };
import { isWrite } from "../shared/writes.ts";
import type { ModuleBuilder } from "./builder.ts";

/** `x.method(...)` as a whole statement (possibly awaited), with `x` bound to one of `decls`. */
export function callStatement(s: Node, decls: ReadonlySet<Node>, methods: readonly string[], m: ModuleBuilder): CallExpression | null {
  if (!Node.isExpressionStatement(s)) return null;
  let e = unwrap(s.getExpression());
  if (Node.isAwaitExpression(e)) e = unwrap(e.getExpression());
  if (!Node.isCallExpression(e)) return null;
  const callee = e.getExpression();
  if (!Node.isPropertyAccessExpression(callee) || !methods.includes(callee.getName())) return null;
  const receiver = unwrap(callee.getExpression());
  if (!Node.isIdentifier(receiver)) return null;
  const decl = m.ctx.analysis.references.declarationOf(receiver);
  return decl && decls.has(decl) ? e : null;
}

/** Declarations of the trained models (what `model.train()` / `model.eval()` / `model.zeroGrad()` act on). */
export function modelDecls(m: ModuleBuilder): Set<Node> {
  return m.withAliases(m.models.map((f) => f.declaration));
}

/**
 * The optimizers the module trains with, as the script binds them: the one the training function
 * is handed (`ScriptAnalysis.handedInOptimizer`, its parameter), or those the script builds.
 */
export function moduleOptimizers(m: ModuleBuilder): { declaration: Node | null; name: string | null }[] {
  const handedIn = m.ctx.analysis.handedInOptimizer;
  return handedIn ? [{ declaration: handedIn, name: handedIn.getName() }] : m.ctx.analysis.optimizers;
}

export function optimizerDecls(m: ModuleBuilder): Set<Node> {
  return m.withAliases(moduleOptimizers(m).flatMap((o) => (o.declaration ? [o.declaration] : [])));
}

/**
 * `model.train()` / `model.eval()` on a model of the module: the Trainer switches modes itself
 * (train for the training epoch, eval for validation and test, then back).
 */
export function isModeCall(s: Node, m: ModuleBuilder): boolean {
  if (m.structure.evalCodeInHooks) return false;
  const call = callStatement(s, modelDecls(m), ["train", "eval"], m);
  return call !== null && (call.getArguments().length === 0 || (call.getArguments().length === 1 && Node.isTrueLiteral(call.getArguments()[0]!)));
}

/** `continue` / `break` statements that leave `loop` (not an inner loop, not a function inside). */
export function jumpsOutOf(loop: Node, kind: typeof SyntaxKind.ContinueStatement | typeof SyntaxKind.BreakStatement): Statement[] {
  const body = (loop as Node & { getStatement(): Node }).getStatement();
  const out: Statement[] = [];
  const visit = (n: Node, depth: number): void => {
    if (isFunctionLike(n) || Node.isArrowFunction(n)) return;
    if (n.getKind() === kind) {
      const label = (n as Node & { getLabel(): Identifier | undefined }).getLabel();
      // A labelled jump may leave any loop around it: count it (the caller then refuses the loop).
      if (label) {
        out.push(n as Statement);
        return;
      }
      // `break` inside a switch leaves the switch.
      if (depth === 0) out.push(n as Statement);
      return;
    }
    const inner = isLoop(n) || (kind === SyntaxKind.BreakStatement && Node.isSwitchStatement(n));
    n.forEachChild((c) => visit(c, inner ? depth + 1 : depth));
  };
  visit(body, 0);
  return out;
}

/** `return` statements of the enclosing function inside `node` (they would leave the training function). */
export function returnsIn(node: Node): Statement[] {
  const out: Statement[] = [];
  const visit = (n: Node): void => {
    if (isFunctionLike(n) || Node.isArrowFunction(n)) return;
    if (Node.isReturnStatement(n)) out.push(n);
    n.forEachChild(visit);
  };
  node.forEachChild(visit);
  return out;
}

/** Names a statement declares (identifiers of its variable declarations, patterns included). */
export function declaredNames(s: Node): Identifier[] {
  if (!Node.isVariableStatement(s)) return [];
  return s.getDeclarations().flatMap((d) => bindingIdentifiers(d.getNameNode()));
}

export function bindingIdentifiers(name: Node): Identifier[] {
  if (Node.isIdentifier(name)) return [name];
  if (Node.isObjectBindingPattern(name) || Node.isArrayBindingPattern(name)) {
    return name.getElements().flatMap((el) => (Node.isBindingElement(el) ? bindingIdentifiers(el.getNameNode()) : []));
  }
  return [];
}

/** True when the statement calls `console.log`/`console.info` somewhere (a per-epoch report). */
export function prints(s: Node): boolean {
  return s.getDescendantsOfKind(SyntaxKind.CallExpression).some((c) => /^console\.(log|info)$/.test(c.getExpression().getText()));
}

/** `expr` without the device moves the migration strips (`new Net().to(device)` is a `new Net()`). */
export function withoutMoves(m: ModuleBuilder, expr: Node): Node {
  let e = unwrap(expr);
  for (;;) {
    const move = Node.isCallExpression(e) ? m.ctx.analysis.deviceMoves.find((d) => d.call === e) : undefined;
    if (!move || !m.ctx.edits.covers(move.receiver.getEnd(), move.call.getEnd())) return e;
    e = unwrap(move.receiver);
  }
}

/** `wanted`, or `wanted2`, ... : a name no identifier inside `scope` uses. */
export function freshName(m: ModuleBuilder, scope: Node, wanted: string): string {
  const used = (n: string) => m.ctx.analysis.references.identifiersNamed(n).some((i) => i.getStart() >= scope.getStart() && i.getEnd() <= scope.getEnd());
  let name = wanted;
  for (let i = 2; used(name); i++) name = `${wanted}${i}`;
  return name;
}

/** Methods that change the array, map or set they are called on. */
const MUTATORS = new Set(["push", "pop", "shift", "unshift", "splice", "sort", "reverse", "fill", "copyWithin", "set", "add", "delete", "clear"]);

/**
 * Whether one of these uses changes what the variable holds without assigning the variable:
 * `losses.push(x)`, `stats.count = 1`, `row[i] += v`. Such a `const` is state, not configuration.
 */
export function mutatedAnywhere(uses: readonly Node[]): boolean {
  return uses.some((use) => {
    const parent = use.getParent();
    if (!parent) return false;
    if (Node.isPropertyAccessExpression(parent) && parent.getExpression() === use) {
      const grand = parent.getParent();
      if (grand && Node.isCallExpression(grand) && grand.getExpression() === parent && MUTATORS.has(parent.getName())) return true;
      return isWrite(parent);
    }
    return Node.isElementAccessExpression(parent) && parent.getExpression() === use && isWrite(parent);
  });
}

/**
 * `tf.Tensor2D` (any namespace name, as the script imported it) spelled with the module's own
 * name for tfjs, or null for a type that is not a tensor type.
 */
export function tensorTypeName(m: ModuleBuilder, typeText: string): string | null {
  const match = /^\w+\.(Tensor(?:[1-6]D)?|Scalar)$/.exec(typeText);
  return match ? `${m.tfName}.${match[1]}` : null;
}
