/**
 * ts-morph's runtime values, loaded with `require`.
 *
 * ts-morph is CommonJS. Imported from an ES module, Node first scans its source with
 * cjs-module-lexer to find the export names, which costs ~200 ms of a cold `lit-migrate` run;
 * `require` skips the scan. Types still come from `import type ... from "ts-morph"` (erased).
 *
 * `unwrap`, `within` and `isLoop` live here too: the analysis and nearly every transform need
 * them, and they depend on nothing but `Node`.
 */
import { createRequire } from "node:module";
import type * as TsMorph from "ts-morph";

const morph = createRequire(import.meta.url)("ts-morph") as typeof TsMorph;

export const Node = morph.Node;
export type Node<T extends TsMorph.ts.Node = TsMorph.ts.Node> = TsMorph.Node<T>;
export const SyntaxKind = morph.SyntaxKind;
export type SyntaxKind = TsMorph.SyntaxKind;
export const VariableDeclarationKind = morph.VariableDeclarationKind;
export type VariableDeclarationKind = TsMorph.VariableDeclarationKind;
export const Project = morph.Project;
export type Project = TsMorph.Project;
export const ts = morph.ts;

/** Strips what does not change which value an expression denotes: `( )`, `!`, `as T`, `satisfies T`. */
export function unwrap(expr: Node): Node {
  let e = expr;
  for (;;) {
    if (Node.isParenthesizedExpression(e) || Node.isNonNullExpression(e) || Node.isAsExpression(e) || Node.isSatisfiesExpression(e)) {
      e = e.getExpression();
    } else {
      return e;
    }
  }
}

/** Whether `node` lies inside `outer` (or is it). */
export function within(node: Node, outer: Node): boolean {
  return outer.getStart() <= node.getStart() && node.getEnd() <= outer.getEnd();
}

/** A `for`, `for...of`, `for...in`, `while` or `do` statement. */
export function isLoop(n: Node): boolean {
  return Node.isForStatement(n) || Node.isForOfStatement(n) || Node.isForInStatement(n) || Node.isWhileStatement(n) || Node.isDoStatement(n);
}
