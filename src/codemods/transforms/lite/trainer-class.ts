/**
 * A user-written trainer class (minGPT's `Trainer`, Fabric's build_your_own_trainer): the
 * backward is in one of its methods, and the script builds it and calls it:
 *
 *   class Trainer {                                  class Trainer {
 *     constructor(config, model) { ... }               lite: LightningLite;
 *     run() { ... loss.backward(); ... }       →       constructor(lite: LightningLite, config, model) {
 *   }                                                    this.lite = lite;
 *   const trainer = new Trainer(config, model);          ...
 *   trainer.run();                                     run() { ... this.lite.backward(loss); ... }
 *                                                    }
 *                                                    class Lite extends LightningLite {
 *                                                      override async run() {
 *                                                        const trainer = new Trainer(this, config, model);
 *                                                        trainer.run();
 *                                                    ...
 *
 * The trainer holds the Lite instance as Fabric's trainer holds `self.fabric`; the code that
 * builds the trainer and calls it is the entry (what becomes `run()`).
 */
import type { ClassDeclaration, Identifier, NewExpression, Statement } from "ts-morph";
import { isDeclarationStatement, topLevelStatementOf } from "../../analysis/entry.ts";
import { makeOwnerOf } from "../../analysis/functions.ts";
import type { Entry, ScriptAnalysis } from "../../analysis/types.ts";
import { Node, unwrap } from "../../morph.ts";

/** The class whose method `node` is in (`this` is its instance there), or null. */
export function enclosingInstanceClass(node: Node): ClassDeclaration | null {
  for (let a = node.getParent(); a; a = a.getParent()) {
    if (Node.isArrowFunction(a)) continue;
    if (Node.isMethodDeclaration(a) || Node.isConstructorDeclaration(a) || Node.isGetAccessorDeclaration(a) || Node.isSetAccessorDeclaration(a)) {
      if (!Node.isConstructorDeclaration(a) && a.isStatic()) return null;
      const cls = a.getParent();
      return cls && Node.isClassDeclaration(cls) && cls.getName() ? cls : null;
    }
    if (Node.isFunctionDeclaration(a) || Node.isFunctionExpression(a) || Node.isClassExpression(a) || Node.isSourceFile(a)) return null;
    if (Node.isPropertyDeclaration(a) || Node.isClassStaticBlockDeclaration(a)) return null;
  }
  return null;
}

/** Classes (not models) with an instance method that calls backward. */
export function trainerClasses(analysis: ScriptAnalysis): ClassDeclaration[] {
  const out: ClassDeclaration[] = [];
  for (const b of analysis.backwardCalls) {
    const cls = enclosingInstanceClass(b.call);
    if (cls && !analysis.modelClasses.includes(cls) && !out.includes(cls)) out.push(cls);
  }
  return out;
}

/** `new C(...)` for the class, anywhere in the file. */
export function constructionsOf(analysis: ScriptAnalysis, cls: ClassDeclaration): NewExpression[] {
  const name = cls.getNameNode();
  if (!name) return [];
  return analysis.references.usesOf(name).flatMap((use) => {
    const parent = use.getParent();
    return parent && Node.isNewExpression(parent) && parent.getExpression() === use ? [parent] : [];
  });
}

/**
 * The entry when the backward is only in a trainer class: the function that builds the trainer
 * (when the script calls it at top level), else the top-level statements from the first that
 * builds a model, optimizer, DataLoader or the trainer to the last that is not a declaration.
 */
export function trainerEntry(analysis: ScriptAnalysis): Entry | null {
  const classes = trainerClasses(analysis);
  if (classes.length === 0) return null;
  const ownerOf = makeOwnerOf(analysis.functions);
  const marks: Node[] = [];
  for (const cls of classes) {
    for (const construction of constructionsOf(analysis, cls)) {
      marks.push(construction);
      // `const trainer = new Trainer(...); ...; trainer.run();`
      let parent = construction.getParent();
      while (parent && (Node.isParenthesizedExpression(parent) || Node.isAsExpression(parent))) parent = parent.getParent();
      if (parent && Node.isVariableDeclaration(parent) && Node.isIdentifier(parent.getNameNode())) {
        marks.push(...analysis.references.usesOf(parent.getNameNode() as Identifier));
      }
    }
  }
  if (marks.length === 0) return null;
  const owners = new Set(marks.map((m) => ownerOf(m)).map((o) => (o.kind === "function" ? o.fn : o.kind)));
  if (owners.size !== 1) return null;
  const [owner] = owners;
  if (owner === "opaque") return null;
  if (owner !== "top") {
    const fn = owner!;
    const calls = fn.calls.filter((c) => ownerOf(c).kind === "top");
    return calls.length > 0 ? { kind: "function", fn, calls } : null;
  }
  const sourceFile = analysis.sourceFile;
  const statements = sourceFile.getStatements();
  const topIndex = (n: Node): number => statements.indexOf(topLevelStatementOf(n));
  const indices = marks.map(topIndex);
  for (const n of [
    ...analysis.models.map((m) => m.declaration),
    ...analysis.optimizers.map((o) => o.construction),
    ...analysis.dataloaders.map((d) => d.construction),
  ]) {
    if (ownerOf(n).kind === "top") indices.push(topIndex(n));
  }
  const first = Math.min(...indices.filter((i) => i >= 0));
  let last = first;
  statements.forEach((s, i) => {
    if (i > first && !isDeclarationStatement(s)) last = i;
  });
  return { kind: "script", statements: statements.slice(first, last + 1) };
}

/** `X = model.factory(...)` statements (`this.optimizer = model.configureOptimizers(config)`). */
export function unwrapAssignment(s: Node): { left: Node; right: Node } | null {
  if (!Node.isExpressionStatement(s)) return null;
  const e = unwrap(s.getExpression());
  if (!Node.isBinaryExpression(e) || e.getOperatorToken().getText() !== "=") return null;
  return { left: e.getLeft(), right: unwrap(e.getRight()) };
}
