/**
 * Local functions and who calls whom. The training loop is often not in `main` itself but in a
 * helper it calls (`trainEpoch(model, loader, optimizer, device)`), so finding the entry point,
 * threading the Lite instance into helpers and removing `device` parameters all need the call
 * sites of every local function.
 */
import { Node, SyntaxKind, VariableDeclarationKind, unwrap } from "../morph.ts";
import type { CallExpression, ExpressionStatement, Identifier, Statement } from "ts-morph";
import type { ReferenceIndex } from "./references.ts";
import { isDeclarationName } from "./references.ts";
import type { FunctionNode, LocalFunction } from "./types.ts";

/** Collects the named functions of the file (at any depth) with their call sites. */
export function collectLocalFunctions(candidates: Node[], refs: ReferenceIndex): LocalFunction[] {
  const out: LocalFunction[] = [];
  for (const node of candidates) {
    let nameNode: Identifier | undefined;
    let statement: Statement | undefined;
    if (Node.isFunctionDeclaration(node)) {
      nameNode = node.getNameNode();
      statement = node;
    } else if (Node.isArrowFunction(node) || Node.isFunctionExpression(node)) {
      // `const f = (...) => {...}` / `const f = function (...) {...}`
      let parent = node.getParent();
      while (parent && Node.isParenthesizedExpression(parent)) parent = parent.getParent();
      if (
        parent &&
        Node.isVariableDeclaration(parent) &&
        unwrap(parent.getInitializerOrThrow()) === node &&
        Node.isIdentifier(parent.getNameNode()) &&
        parent.getVariableStatement()?.getDeclarationKind() === VariableDeclarationKind.Const
      ) {
        nameNode = parent.getNameNode() as Identifier;
        statement = parent.getVariableStatement();
      }
    }
    if (!nameNode || !statement) continue;
    const calls: CallExpression[] = [];
    const otherReferences: Identifier[] = [];
    for (const ref of refs.referencesOf(nameNode)) {
      if (ref === nameNode || isDeclarationName(ref)) continue;
      const parent = ref.getParent();
      if (parent && Node.isCallExpression(parent) && parent.getExpression() === ref) calls.push(parent);
      else otherReferences.push(ref);
    }
    out.push({ node: node as FunctionNode, name: nameNode.getText(), nameNode, statement, calls, otherReferences });
  }
  return out;
}

/** Nodes that start a new `this`/scope for "which function is this code in". */
export function isFunctionLike(node: Node): boolean {
  return (
    Node.isFunctionDeclaration(node) ||
    Node.isFunctionExpression(node) ||
    Node.isArrowFunction(node) ||
    Node.isMethodDeclaration(node) ||
    Node.isConstructorDeclaration(node) ||
    Node.isGetAccessorDeclaration(node) ||
    Node.isSetAccessorDeclaration(node) ||
    Node.isClassStaticBlockDeclaration(node) ||
    Node.isPropertyDeclaration(node)
  );
}

/**
 * The code a node belongs to, for the call graph: the nearest enclosing named local function,
 * an unnamed function or class member ("opaque": its own `this`, not callable by name), or the
 * top level. Anonymous arrows are transparent: they run inside whoever wrote them.
 */
export type Owner =
  | { kind: "function"; fn: LocalFunction }
  | { kind: "opaque"; node: Node }
  | { kind: "top" };

export function makeOwnerOf(functions: LocalFunction[]): (node: Node) => Owner {
  const byNode = new Map<Node, LocalFunction>(functions.map((f) => [f.node, f]));
  const cache = new Map<Node, Owner>();
  return function ownerOf(node: Node): Owner {
    for (let n = node.getParent(); n; n = n.getParent()) {
      const cached = cache.get(n);
      if (cached) return cached;
      const fn = byNode.get(n);
      let owner: Owner | null = null;
      if (fn) owner = { kind: "function", fn };
      else if (isFunctionLike(n) && !Node.isArrowFunction(n)) owner = { kind: "opaque", node: n };
      if (owner) {
        cache.set(n, owner);
        return owner;
      }
    }
    return { kind: "top" };
  };
}

/**
 * Where a call's value goes, as a statement of its own: nowhere (`f(...);`), back to the caller
 * (`return f(...);`), into a name (`x = f(...);`) or a new one (`const x = f(...);`). `awaited`:
 * the call is awaited there. Null for a call inside other code.
 */
export type CallSite =
  | { kind: "statement"; statement: Statement; awaited: boolean }
  | { kind: "return"; statement: Statement; awaited: boolean }
  | { kind: "assign"; statement: Statement; awaited: boolean; target: string; targetIsName: boolean }
  | { kind: "declare"; statement: Statement; awaited: boolean; target: string; keyword: string };

export function callSiteOf(call: Node): CallSite | null {
  let e: Node = call;
  let parent = e.getParent();
  let awaited = false;
  while (parent && (Node.isParenthesizedExpression(parent) || Node.isAwaitExpression(parent))) {
    if (Node.isAwaitExpression(parent)) awaited = true;
    e = parent;
    parent = parent.getParent();
  }
  if (!parent) return null;
  if (Node.isExpressionStatement(parent)) return { kind: "statement", statement: parent, awaited };
  if (Node.isReturnStatement(parent)) return { kind: "return", statement: parent, awaited };
  if (Node.isBinaryExpression(parent) && parent.getOperatorToken().getKind() === SyntaxKind.EqualsToken && parent.getRight() === e) {
    const statement = parent.getParent();
    if (!statement || !Node.isExpressionStatement(statement)) return null;
    return { kind: "assign", statement, awaited, target: parent.getLeft().getText(), targetIsName: Node.isIdentifier(parent.getLeft()) };
  }
  if (Node.isVariableDeclaration(parent) && Node.isIdentifier(parent.getNameNode())) {
    const statement = parent.getVariableStatement();
    if (!statement || statement.getDeclarations().length !== 1) return null;
    return { kind: "declare", statement, awaited, target: parent.getName(), keyword: statement.getDeclarationKind() };
  }
  return null;
}

/** The statement that is just the call (`main(...)`, `await main(...)`, `void main(...)`), or null: a call whose result nothing reads. */
export function statementOfCall(call: Node): ExpressionStatement | null {
  let n: Node = call;
  let parent = n.getParent();
  while (parent && (Node.isParenthesizedExpression(parent) || Node.isAwaitExpression(parent) || Node.isVoidExpression(parent))) {
    n = parent;
    parent = parent.getParent();
  }
  return parent && Node.isExpressionStatement(parent) ? parent : null;
}
