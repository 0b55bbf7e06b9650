/**
 * Identifier → declaration binding for one file, built during the analysis walk.
 *
 * This is lexical scoping as JavaScript defines it (block scopes for `let`/`const`/`class` and,
 * in modules, function declarations; function scopes for `var` and parameters; one module scope
 * for imports), so shadowing is handled the way the language handles it: a local `save` is not
 * torch's `save`, a class field `main` is not the function `main`. The TypeScript checker would
 * answer the same questions, but starting it and resolving names through it costs more than the
 * whole rest of a migration, and binding is all the codemod needs.
 */
import { Node, SyntaxKind, VariableDeclarationKind } from "../morph.ts";
import type { BindingElement, FunctionDeclaration, Identifier, ImportClause, ImportSpecifier, NamespaceImport, ParameterDeclaration, VariableDeclaration } from "ts-morph";

export class Scope {
  readonly names = new Map<string, Node>();
  constructor(
    readonly parent: Scope | null,
    /** Function (or module) scopes take `var` declarations. */
    readonly isFunction: boolean,
  ) {}

  lookup(name: string): Node | undefined {
    for (let s: Scope | null = this; s; s = s.parent) {
      const found = s.names.get(name);
      if (found) return found;
    }
    return undefined;
  }

  get functionScope(): Scope {
    let s: Scope = this;
    while (!s.isFunction && s.parent) s = s.parent;
    return s;
  }
}

export class ReferenceIndex {
  /** Binding references by name, in source order, with the scope they appear in. */
  private readonly byText = new Map<string, Identifier[]>();
  private readonly scopeOf = new Map<Identifier, Scope>();
  /** Declaring names, bound directly to their declaration. */
  private readonly declared = new Map<Identifier, Node>();
  private readonly referenceCache = new Map<Node, Identifier[]>();

  /** Records an identifier met in the walk (member names and labels are skipped). */
  add(id: Identifier, scope: Scope): void {
    if (!isBindingReference(id)) return;
    const text = id.getText();
    const list = this.byText.get(text);
    if (list) list.push(id);
    else this.byText.set(text, [id]);
    this.scopeOf.set(id, scope);
  }

  /** Declares `name` in `scope` as bound by `declaration` (the first declaration wins). */
  declare(name: Identifier, declaration: Node, scope: Scope): void {
    const text = name.getText();
    if (!scope.names.has(text)) scope.names.set(text, declaration);
    this.declared.set(name, scope.names.get(text)!);
  }

  /** Every binding reference spelled `text` (whatever it binds to). */
  identifiersNamed(text: string): readonly Identifier[] {
    return this.byText.get(text) ?? [];
  }

  /**
   * The declaration an identifier refers to: a VariableDeclaration, BindingElement,
   * ParameterDeclaration, FunctionDeclaration, FunctionExpression, ClassDeclaration,
   * ImportSpecifier, NamespaceImport, ImportClause, ... or undefined for globals.
   */
  declarationOf(id: Identifier): Node | undefined {
    const direct = this.declared.get(id);
    if (direct) return direct;
    return this.scopeOf.get(id)?.lookup(id.getText());
  }

  /** Every identifier bound to the same declaration as `id`, the declaring name included. */
  referencesOf(id: Identifier): Identifier[] {
    const decl = this.declarationOf(id);
    if (!decl) return [];
    const cached = this.referenceCache.get(decl);
    if (cached) return cached;
    const refs = (this.byText.get(id.getText()) ?? []).filter((c) => this.declarationOf(c) === decl);
    this.referenceCache.set(decl, refs);
    return refs;
  }

  /** Like `referencesOf`, without the declaring names. */
  usesOf(id: Identifier): Identifier[] {
    return this.referencesOf(id).filter((r) => !isDeclarationName(r));
  }
}

/**
 * The binder half of the analysis walk: which scope a node opens, and what a declaration
 * declares where. `enter` returns the scope for the node's children.
 */
export function enterScope(node: Node, scope: Scope, refs: ReferenceIndex): Scope {
  switch (node.getKind()) {
    case SyntaxKind.FunctionDeclaration: {
      const name = (node as FunctionDeclaration).getNameNode();
      // Block-scoped in a module (strict mode), visible in the whole enclosing block.
      if (name) refs.declare(name, node, scope);
      return new Scope(scope, true);
    }
    case SyntaxKind.FunctionExpression:
    case SyntaxKind.ClassExpression: {
      // The name of a function or class expression is visible only inside it.
      const inner = new Scope(scope, node.getKind() === SyntaxKind.FunctionExpression);
      const name = (node as Node & { getNameNode(): Identifier | undefined }).getNameNode();
      if (name) refs.declare(name, node, inner);
      return inner;
    }
    case SyntaxKind.ArrowFunction:
    case SyntaxKind.MethodDeclaration:
    case SyntaxKind.Constructor:
    case SyntaxKind.GetAccessor:
    case SyntaxKind.SetAccessor:
      return new Scope(scope, true);
    case SyntaxKind.ClassDeclaration:
    case SyntaxKind.EnumDeclaration:
    case SyntaxKind.ModuleDeclaration: {
      const name = (node as Node & { getNameNode(): Node | undefined }).getNameNode();
      if (name && Node.isIdentifier(name)) refs.declare(name, node, scope);
      return new Scope(scope, false);
    }
    case SyntaxKind.Block:
    case SyntaxKind.ForStatement:
    case SyntaxKind.ForOfStatement:
    case SyntaxKind.ForInStatement:
    case SyntaxKind.CaseBlock:
    case SyntaxKind.CatchClause:
    case SyntaxKind.ClassStaticBlockDeclaration:
    case SyntaxKind.ModuleBlock:
      return new Scope(scope, false);
    case SyntaxKind.VariableDeclaration: {
      const decl = node as VariableDeclaration;
      const name = decl.getNameNode();
      if (Node.isIdentifier(name)) refs.declare(name, node, variableScope(node, scope));
      return scope;
    }
    case SyntaxKind.BindingElement: {
      const name = (node as BindingElement).getNameNode();
      if (Node.isIdentifier(name)) refs.declare(name, node, variableScope(node, scope));
      return scope;
    }
    case SyntaxKind.Parameter: {
      const name = (node as ParameterDeclaration).getNameNode();
      if (Node.isIdentifier(name)) refs.declare(name, node, scope);
      return scope;
    }
    case SyntaxKind.ImportSpecifier: {
      const s = node as ImportSpecifier;
      refs.declare(s.getAliasNode() ?? s.getNameNode() as Identifier, node, scope);
      return scope;
    }
    case SyntaxKind.NamespaceImport:
      refs.declare((node as NamespaceImport).getNameNode(), node, scope);
      return scope;
    case SyntaxKind.ImportClause: {
      const def = (node as ImportClause).getDefaultImport();
      if (def) refs.declare(def, node, scope);
      return scope;
    }
    default:
      return scope;
  }
}

/** `var` goes to the function scope; `let`, `const`, parameters' patterns stay where they are. */
function variableScope(node: Node, scope: Scope): Scope {
  const list = node.getFirstAncestor((a) => Node.isVariableDeclarationList(a) || Node.isParameterDeclaration(a));
  if (list && Node.isVariableDeclarationList(list) && list.getDeclarationKind() === VariableDeclarationKind.Var) {
    return scope.functionScope;
  }
  return scope;
}

/** False for names that never refer to a binding: `a.name`, `{ name: v }`, members, labels. */
export function isBindingReference(id: Identifier): boolean {
  const parent = id.getParent();
  if (!parent) return false;
  if (Node.isPropertyAccessExpression(parent)) return parent.getNameNode() !== id;
  if (Node.isQualifiedName(parent)) return parent.getLeft() === id;
  if (
    Node.isPropertyAssignment(parent) ||
    Node.isPropertyDeclaration(parent) ||
    Node.isPropertySignature(parent) ||
    Node.isMethodDeclaration(parent) ||
    Node.isMethodSignature(parent) ||
    Node.isGetAccessorDeclaration(parent) ||
    Node.isSetAccessorDeclaration(parent) ||
    Node.isEnumMember(parent)
  ) {
    return parent.getNameNode() !== id;
  }
  if (Node.isLabeledStatement(parent) || Node.isBreakStatement(parent) || Node.isContinueStatement(parent)) {
    return false;
  }
  // `{ a: x }` destructuring: `a` names a property, `x` is the binding.
  if (Node.isBindingElement(parent)) return parent.getPropertyNameNode() !== id;
  // `import { nn as N }`: `nn` names the export and `N` is the binding; `export { main as run }`:
  // `main` is the local binding and `run` the exported name.
  if (Node.isImportSpecifier(parent)) {
    const alias = parent.getAliasNode();
    return !alias || alias === id;
  }
  if (Node.isExportSpecifier(parent)) return parent.getAliasNode() !== id;
  return true;
}

/** True for the name being declared (variable, parameter, function, class, import binding). */
export function isDeclarationName(id: Identifier): boolean {
  const parent = id.getParent();
  if (!parent) return false;
  if (
    Node.isVariableDeclaration(parent) ||
    Node.isParameterDeclaration(parent) ||
    Node.isFunctionDeclaration(parent) ||
    Node.isFunctionExpression(parent) ||
    Node.isClassDeclaration(parent) ||
    Node.isClassExpression(parent) ||
    Node.isBindingElement(parent) ||
    Node.isInterfaceDeclaration(parent) ||
    Node.isTypeAliasDeclaration(parent) ||
    Node.isEnumDeclaration(parent)
  ) {
    return (parent as Node & { getNameNode(): Node | undefined }).getNameNode() === id;
  }
  return Node.isImportSpecifier(parent) || Node.isNamespaceImport(parent) || Node.isImportClause(parent);
}
