/**
 * Which names come from `lightning-ts/torch`, under any import shape:
 *   import { nn, optim } from "lightning-ts/torch";        nn.Module         → "nn.Module"
 *   import { optim as O, save as torchSave } from ...;     O.Adam, torchSave → "optim.Adam", "save"
 *   import * as torch from "lightning-ts/torch";           torch.cuda.isAvailable → "cuda.isAvailable"
 * `torchPath` answers with the dotted export path, or null for anything that is not torch's.
 */
import { Node, VariableDeclarationKind, unwrap } from "../morph.ts";
import type { ImportDeclaration, SourceFile } from "ts-morph";
import type { ReferenceIndex } from "./references.ts";
import type { TorchImport } from "./types.ts";

/** `lightning-ts/torch`, or a relative import of the repository's own torch layer. */
export function isTorchModuleSpecifier(spec: string): boolean {
  if (spec === "lightning-ts/torch") return true;
  return spec.startsWith(".") && /(^|\/)torch(\/index(\.[cm]?[jt]s)?)?$/.test(spec);
}

/** `lightning-ts`, or a relative import of the repository's runtime. */
export function isRuntimeModuleSpecifier(spec: string): boolean {
  if (spec === "lightning-ts") return true;
  return spec.startsWith(".") && /(^|\/)runtime(\/index(\.[cm]?[jt]s)?)?$/.test(spec);
}

/** The runtime import that goes with a torch import written as `spec`. */
export function runtimeSpecifierFor(torchSpecifier: string): string {
  if (torchSpecifier === "lightning-ts/torch") return "lightning-ts";
  return torchSpecifier.replace(/torch(\/index(\.[cm]?[jt]s)?)?$/, (_m, index: string | undefined) =>
    index ? `runtime${index}` : "runtime",
  );
}

export function findTorchImport(sourceFile: SourceFile): TorchImport | null {
  const declarations: ImportDeclaration[] = sourceFile
    .getImportDeclarations()
    .filter((d) => isTorchModuleSpecifier(d.getModuleSpecifierValue()) && !d.isTypeOnly());
  if (declarations.length === 0) return null;
  const named = new Map<string, string>();
  const namespaces: string[] = [];
  for (const d of declarations) {
    const ns = d.getNamespaceImport();
    if (ns) namespaces.push(ns.getText());
    for (const s of d.getNamedImports()) {
      if (s.isTypeOnly()) continue;
      named.set(s.getAliasNode()?.getText() ?? s.getName(), s.getName());
    }
  }
  return { declarations, moduleSpecifier: declarations[0]!.getModuleSpecifierValue(), namespaces, named };
}

export function torchPath(expr: Node, refs: ReferenceIndex, torchNames?: ReadonlySet<string>): string | null {
  const e = unwrap(expr);
  if (Node.isIdentifier(e)) {
    // Only a name the torch import binds can be torch's (the check saves resolving the rest).
    if (torchNames && !torchNames.has(e.getText())) return null;
    const decl = refs.declarationOf(e);
    if (!decl) return null;
    if (Node.isImportSpecifier(decl)) {
      const importDecl = decl.getImportDeclaration();
      return isTorchModuleSpecifier(importDecl.getModuleSpecifierValue()) ? decl.getName() : null;
    }
    if (Node.isNamespaceImport(decl)) {
      // NamespaceImport → ImportClause → ImportDeclaration
      const importDecl = decl.getParent().getParent();
      return Node.isImportDeclaration(importDecl) && isTorchModuleSpecifier(importDecl.getModuleSpecifierValue()) ? "" : null;
    }
    // `const lrScheduler = optim.lrScheduler;` (Python's `from torch.optim import lr_scheduler`)
    const alias = torchAliasTarget(decl);
    return alias ? torchPath(alias, refs, torchNames) : null;
  }
  if (Node.isPropertyAccessExpression(e)) {
    const base = torchPath(e.getExpression(), refs, torchNames);
    if (base === null) return null;
    return base === "" ? e.getName() : `${base}.${e.getName()}`;
  }
  if (Node.isQualifiedName(e)) {
    const base = torchPath(e.getLeft(), refs, torchNames);
    if (base === null) return null;
    return base === "" ? e.getRight().getText() : `${base}.${e.getRight().getText()}`;
  }
  return null;
}

/**
 * The local names torch imports bind (`nn`, `O` for `optim as O`, `torch` for a namespace), and
 * the top-level constants that alias a torch name (`const lrScheduler = optim.lrScheduler;`).
 */
export function torchBindingNames(torch: TorchImport | null, sourceFile: SourceFile, refs: ReferenceIndex): Set<string> {
  const names = new Set(torch ? [...torch.named.keys(), ...torch.namespaces] : []);
  for (const s of sourceFile.getVariableStatements()) {
    if (s.getDeclarationKind() !== VariableDeclarationKind.Const) continue;
    for (const d of s.getDeclarations()) {
      const target = torchAliasTarget(d);
      if (target && Node.isIdentifier(d.getNameNode()) && torchPath(target, refs, names) !== null) names.add(d.getName());
    }
  }
  return names;
}

/** `optim.lrScheduler` for `const lrScheduler = optim.lrScheduler;`: a const bound to a name or member path. */
function torchAliasTarget(decl: Node): Node | null {
  if (!Node.isVariableDeclaration(decl) || decl.getVariableStatement()?.getDeclarationKind() !== VariableDeclarationKind.Const) return null;
  const init = decl.getInitializer();
  const e = init ? unwrap(init) : null;
  return e && (Node.isPropertyAccessExpression(e) || Node.isIdentifier(e)) && e !== decl.getNameNode() ? e : null;
}

