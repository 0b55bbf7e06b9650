/**
 * What lit-migrate checks in its own output before it calls a file migrated (SPEC §7): the
 * errors a codemod can introduce by moving and rewriting code, found without the TypeScript
 * checker.
 *
 * Why not the checker itself: a type-check program for one migrated script loads ~950 files
 * (3.5 MB: @types/node, tfjs-core's declarations, lightning-ts's own sources), 1.6–2.2 s to
 * build and 0.7 s to check on this machine's cold run, while the whole migration of a
 * 1,000-line script costs ~0.35 s. The errors the transforms can make are structural, and this
 * pass finds them in one parse and one walk (a few ms):
 *   - the output does not parse;
 *   - a name the input declared is used where no declaration reaches it (code moved out of its
 *     variable's scope, a declaration dropped while a use stays);
 *   - a `let`/`const`/class is used before its declaration in straight-line code of the same
 *     function (data code moved below its use);
 *   - `this` outside a class (a free helper that was given `this.manualBackward`);
 *   - `await` in a function that is not async;
 *   - the output has not got the target's shape (a LightningLite subclass with run() and the
 *     call that runs it; a LightningModule with trainingStep and a Trainer that fits it).
 * `lit-migrate --typecheck` (and `--verify`) also runs the full TypeScript check (cli/typecheck.ts).
 */
import type { Identifier, SourceFile } from "ts-morph";
import { isFunctionLike } from "./analysis/functions.ts";
import { enterScope, isBindingReference, isDeclarationName, ReferenceIndex, Scope } from "./analysis/references.ts";
import { MigrationError, positionAt, type Position } from "./errors.ts";
import { Node, SyntaxKind, VariableDeclarationKind } from "./morph.ts";
import { parseScript } from "./source.ts";

export interface SelfCheckProblem {
  position: Position;
  reason: string;
}

export function selfCheck(
  /** The input's text, or its tree as the migration parsed it (not parsed again). */
  input: string | SourceFile,
  output: string,
  shape: { target: "lite" | "module"; className: string; topLevelAwait?: boolean } | null,
  fileName?: string,
): SelfCheckProblem | null {
  let out: Bound;
  try {
    out = bind(output, fileName, shape?.topLevelAwait ?? true);
  } catch (error) {
    if (error instanceof MigrationError) return { position: error.position, reason: `the output does not parse (${error.reason})` };
    throw error;
  }
  // What was already wrong in the input (a name used out of its scope) is not ours to report.
  const before = bind(input, fileName, shape?.topLevelAwait ?? true);
  const at = (node: Node, reason: string): SelfCheckProblem => ({ position: positionAt(output, node.getStart()), reason });
  const [thisUse] = out.thisOutsideClass;
  if (thisUse && out.thisOutsideClass.length > before.thisOutsideClass.length) return at(thisUse, "`this` outside a class");
  const [awaitUse] = out.awaitOutsideAsync;
  if (awaitUse && out.awaitOutsideAsync.length > before.awaitOutsideAsync.length) return at(awaitUse, "`await` in a function that is not async");
  for (const [name, uses] of out.unresolved) {
    if (before.declared.has(name) && uses.length > (before.unresolved.get(name)?.length ?? 0)) {
      return at(uses[0]!, `\`${name}\` is used where no declaration of it reaches`);
    }
  }
  const [redeclared] = out.redeclared;
  if (redeclared && out.redeclared.length > before.redeclared.length) return at(redeclared, `\`${redeclared.getText()}\` is declared twice in one scope`);
  for (const [name, uses] of out.beforeDeclaration) {
    if (uses.length > (before.beforeDeclaration.get(name)?.length ?? 0)) return at(uses[0]!, `\`${name}\` is used before its declaration`);
  }
  if (shape) return checkShape(out.sourceFile, output, shape);
  return null;
}

interface Bound {
  sourceFile: Node;
  /** Every name declared anywhere (a name never declared is a global). */
  declared: Set<string>;
  unresolved: Map<string, Identifier[]>;
  beforeDeclaration: Map<string, Identifier[]>;
  thisOutsideClass: Node[];
  awaitOutsideAsync: Node[];
  /** Second declarations of a block-scoped name in the same scope. */
  redeclared: Identifier[];
}

/** One parse (unless given the tree) and one binding walk (the analysis's own binder, analysis/references.ts). */
function bind(script: string | SourceFile, fileName: string | undefined, topLevelAwait: boolean): Bound {
  const sourceFile = typeof script === "string" ? parseScript(script, fileName).sourceFile : script;
  const refs = new ReferenceIndex();
  const ids: Identifier[] = [];
  const result: Bound = { sourceFile, declared: new Set(), unresolved: new Map(), beforeDeclaration: new Map(), thisOutsideClass: [], awaitOutsideAsync: [], redeclared: [] };
  const declaredIn = new Map<Scope, Set<string>>();
  const visit = (node: Node, scope: Scope): void => {
    const kind = node.getKind();
    if (kind === SyntaxKind.Identifier) {
      refs.add(node as Identifier, scope);
      if (isBindingReference(node as Identifier)) ids.push(node as Identifier);
      return;
    }
    if (kind === SyntaxKind.ThisKeyword && !thisHasAClass(node)) result.thisOutsideClass.push(node);
    const name = blockScopedName(node);
    if (name) {
      const names = declaredIn.get(scope) ?? new Set<string>();
      if (names.has(name.getText())) result.redeclared.push(name);
      names.add(name.getText());
      declaredIn.set(scope, names);
    }
    if (kind === SyntaxKind.AwaitExpression && !awaitAllowed(node, topLevelAwait)) result.awaitOutsideAsync.push(node);
    const inner = enterScope(node, scope, refs);
    node.forEachChild((child) => visit(child, inner));
  };
  const moduleScope = new Scope(null, true);
  sourceFile.forEachChild((child) => visit(child, moduleScope));
  const push = (map: Map<string, Identifier[]>, id: Identifier) => {
    const list = map.get(id.getText());
    if (list) list.push(id);
    else map.set(id.getText(), [id]);
  };
  for (const id of ids) {
    if (isDeclarationName(id)) {
      result.declared.add(id.getText());
      continue;
    }
    const decl = refs.declarationOf(id);
    if (!decl) {
      if (!isTypeOnlyPosition(id)) push(result.unresolved, id);
    } else if (usedBeforeDeclaration(id, decl)) {
      push(result.beforeDeclaration, id);
    }
  }
  return result;
}

/** The name a `let`/`const`/class/function declaration binds in the scope it appears in (`var` may repeat). */
function blockScopedName(node: Node): Identifier | null {
  if (Node.isVariableDeclaration(node)) {
    const name = node.getNameNode();
    const kind = node.getVariableStatement()?.getDeclarationKind();
    return Node.isIdentifier(name) && kind !== undefined && kind !== VariableDeclarationKind.Var ? name : null;
  }
  if (Node.isClassDeclaration(node) || Node.isFunctionDeclaration(node)) return node.getNameNode() ?? null;
  return null;
}

/** A `this` is fine inside a class body (methods, fields, constructors) or a function declaring `this`. */
function thisHasAClass(node: Node): boolean {
  for (let a = node.getParent(); a; a = a.getParent()) {
    if (Node.isClassDeclaration(a) || Node.isClassExpression(a)) return true;
    if (Node.isFunctionDeclaration(a) || Node.isFunctionExpression(a)) {
      // `function (this: T, ...)`: a declared this-parameter.
      return a.getParameters().some((p) => p.getName() === "this");
    }
  }
  return false;
}

function awaitAllowed(node: Node, topLevelAwait: boolean): boolean {
  for (let a = node.getParent(); a; a = a.getParent()) {
    if (
      Node.isFunctionDeclaration(a) ||
      Node.isFunctionExpression(a) ||
      Node.isArrowFunction(a) ||
      Node.isMethodDeclaration(a)
    ) {
      return a.isAsync();
    }
    if (Node.isConstructorDeclaration(a) || Node.isGetAccessorDeclaration(a) || Node.isSetAccessorDeclaration(a)) return false;
  }
  return topLevelAwait;
}

/** Type names (`tf.Tensor` in an annotation) resolve through imports the check sees as well; a type-only miss is not ours to judge. */
function isTypeOnlyPosition(id: Identifier): boolean {
  return id.getFirstAncestor((a) => Node.isTypeNode(a)) !== undefined;
}

/**
 * Straight-line use of a block-scoped binding before its declaration (the temporal dead zone):
 * the use and the declaration run in the same function, the use comes first, and the use is not
 * inside a nested function or class member that may run later.
 */
function usedBeforeDeclaration(id: Identifier, decl: Node): boolean {
  if (id.getStart() >= decl.getStart()) return false;
  if (id.getFirstAncestor((a) => Node.isTypeNode(a))) return false;
  const blockScoped =
    Node.isClassDeclaration(decl) ||
    (Node.isVariableDeclaration(decl) && decl.getVariableStatement()?.getDeclarationKind() !== VariableDeclarationKind.Var);
  if (!blockScoped) return false;
  const declFunction = enclosingRunner(decl);
  return enclosingRunner(id) === declFunction;
}

/** The nearest function, method, accessor or class-field initializer around a node: code that runs when it is called. */
function enclosingRunner(node: Node): Node | undefined {
  return node.getFirstAncestor((a) => isFunctionLike(a) || Node.isPropertyDeclaration(a));
}

function checkShape(
  sourceFile: Node,
  output: string,
  { target, className }: { target: "lite" | "module"; className: string },
): SelfCheckProblem | null {
  const cls = sourceFile.getDescendantsOfKind(SyntaxKind.ClassDeclaration).find((c) => c.getName() === className);
  const at1 = { line: 1, col: 1 };
  if (!cls) return { position: at1, reason: `the output has no class ${className}` };
  const base = cls.getExtends()?.getExpression().getText();
  const wanted = target === "lite" ? "LightningLite" : "LightningModule";
  if (!base || !base.endsWith(wanted)) return { position: positionAt(output, cls.getStart()), reason: `class ${className} does not extend ${wanted}` };
  const method = target === "lite" ? "run" : "trainingStep";
  if (!cls.getMethod(method)) return { position: positionAt(output, cls.getStart()), reason: `class ${className} has no ${method}()` };
  const runs = sourceFile.getDescendantsOfKind(SyntaxKind.CallExpression).some((c) => {
    const callee = c.getExpression();
    if (!Node.isPropertyAccessExpression(callee)) return false;
    if (target === "lite") return callee.getName() === "run" && callee.getExpression().getText().includes(className);
    return callee.getName() === "fit";
  });
  if (!runs) return { position: positionAt(output, cls.getStart()), reason: target === "lite" ? `nothing runs ${className}.run()` : "no trainer.fit(...) call" };
  return null;
}
