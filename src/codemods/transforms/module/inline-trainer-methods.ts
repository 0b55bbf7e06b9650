/**
 * A rewrite of the plain script before `--to module` reads a trainer class of its own: the
 * methods between the one the script calls and the backward — pytorch/examples' DDP tutorial
 * series `Trainer`, whose `train(maxEpochs)` holds the epoch loop and calls `runEpoch(epoch)`,
 * which holds the batch loop and calls `runBatch(source, targets)`, which backpropagates — are
 * inlined where they are called, so that one method holds the loops (trainer-class.ts):
 *
 *   train(maxEpochs) {                        train(maxEpochs) {
 *     for (let epoch = 0; ...) {                for (let epoch = 0; ...) {
 *       this.runEpoch(epoch);          →          ...runEpoch's statements, `epoch` its parameter...
 *     }                                           for (const [source, targets] of this.trainData) {
 *   }                                               ...runBatch's statements, its parameters the arguments...
 *
 * Only a method that leads to a backward, called once, as a statement of its own, by another
 * method of the class, with no `return` but a last bare one. A parameter handed a variable the
 * body does not assign is that variable; any other argument becomes a `const` (a `let` when the
 * body assigns it) of the parameter's name; names the body declares that the caller's method
 * already has are renamed.
 */
import type { ClassDeclaration, MethodDeclaration } from "ts-morph";
import { callSiteOf } from "../../analysis/functions.ts";
import { isDeclarationName } from "../../analysis/references.ts";
import type { ScriptAnalysis } from "../../analysis/types.ts";
import { EditSet } from "../../edits.ts";
import { Node, SyntaxKind, unwrap, within } from "../../morph.ts";
import { isWrite } from "../shared/writes.ts";
import { spanStart } from "../shared/ranges.ts";
import { renameReference, type InputRewrite } from "./input-rewrite.ts";
import { returnsIn } from "./statements.ts";

export function inlineTrainerMethods(analysis: ScriptAnalysis, cls: ClassDeclaration): InputRewrite | null {
  const refs = analysis.references;
  const text = analysis.text;
  const methods = cls.getMethods().filter((m) => !m.isStatic());
  const leadsToBackward = (m: MethodDeclaration) => analysis.backwardCalls.some((b) => within(b.call, m));
  // The one inlining per pass that is possible: the innermost method (runBatch into runEpoch first).
  for (const method of methods.filter(leadsToBackward)) {
    const calls = methods.flatMap((m) =>
      m === method
        ? []
        : m.getDescendantsOfKind(SyntaxKind.CallExpression).filter((c) => {
            const callee = c.getExpression();
            return Node.isPropertyAccessExpression(callee) && callee.getName() === method.getName() && unwrap(callee.getExpression()).getKind() === SyntaxKind.ThisKeyword;
          }),
    );
    // Called nowhere else in the file (the script's own `trainer.runBatch(...)`, a callback).
    const elsewhere = analysis.sourceFile
      .getDescendantsOfKind(SyntaxKind.PropertyAccessExpression)
      .filter((p) => p.getName() === method.getName() && !calls.some((c) => c.getExpression() === p));
    if (calls.length !== 1 || elsewhere.length > 0) continue;
    const call = calls[0]!;
    const site = callSiteOf(call);
    if (!site || (site.kind === "assign" && !site.targetIsName) || method.isAsync() || method.isGenerator()) continue;
    const body = method.getBody();
    if (!body || !Node.isBlock(body)) continue;
    const statements = body.getStatements();
    const last = statements.at(-1);
    const finalReturn = last && Node.isReturnStatement(last) ? last : null;
    if (returnsIn(body).some((r) => r !== finalReturn)) continue;
    const caller = call.getFirstAncestorByKind(SyntaxKind.MethodDeclaration);
    if (!caller) continue;

    const edits = new EditSet(text);
    const taken = new Set(caller.getDescendantsOfKind(SyntaxKind.Identifier).filter((id) => isDeclarationName(id)).map((id) => id.getText()));
    const declaredInBody = body.getDescendantsOfKind(SyntaxKind.Identifier).filter((id) => isDeclarationName(id) && !Node.isParameterDeclaration(id.getParent()));
    const fresh = (wanted: string) => {
      let name = wanted;
      for (let i = 2; taken.has(name); i++) name = `${wanted}${i}`;
      taken.add(name);
      return name;
    };
    for (const d of declaredInBody) {
      if (!taken.has(d.getText())) {
        taken.add(d.getText());
        continue;
      }
      const name = fresh(d.getText());
      for (const r of refs.referencesOf(d)) renameReference(edits, "inline-trainer-method", r, name);
    }
    const bindings: string[] = [];
    const args = call.getArguments();
    let ok = args.length <= method.getParameters().length;
    for (const [i, p] of method.getParameters().entries()) {
      const name = p.getNameNode();
      if (!Node.isIdentifier(name) || p.isRestParameter()) {
        ok = false;
        break;
      }
      const arg = args[i] ? unwrap(args[i]!) : undefined;
      const uses = refs.usesOf(name);
      const written = uses.some((u) => isWrite(u));
      const argDecl = arg && Node.isIdentifier(arg) ? refs.declarationOf(arg) : undefined;
      if (arg && Node.isIdentifier(arg) && !written && argDecl && within(argDecl, caller) && !declaredInBody.some((d) => d.getText() === arg.getText())) {
        for (const u of uses) renameReference(edits, "inline-trainer-method", u, arg.getText());
        continue;
      }
      const value = arg ? arg.getText() : (p.getInitializer()?.getText() ?? "undefined");
      const bound = taken.has(name.getText()) ? fresh(name.getText()) : (taken.add(name.getText()), name.getText());
      if (bound !== name.getText()) for (const u of uses) renameReference(edits, "inline-trainer-method", u, bound);
      const type = p.getTypeNode() ? `: ${p.getTypeNode()!.getText()}` : "";
      bindings.push(`${written ? "let" : "const"} ${bound}${type} = ${value};`);
    }
    if (!ok) continue;
    const kept = finalReturn ? statements.slice(0, -1) : statements;
    const inlined = kept.length > 0 ? edits.render(spanStart(kept[0]!, text), kept.at(-1)!.getEnd()).trim() : "";
    // What the call's value fed: `last = this.runBatch(...)`, `const loss = ...`, `return ...`.
    const returned = finalReturn?.getExpression();
    const value = returned ? edits.render(returned.getStart(), returned.getEnd()) : null;
    let result = "";
    if (site.kind === "assign") result = `${site.target} = ${value ?? "undefined"};`;
    else if (site.kind === "declare") result = `${site.keyword} ${site.target} = ${value ?? "undefined"};`;
    else if (site.kind === "return") result = value === null ? "return;" : `return ${value};`;
    else if (returned && !Node.isIdentifier(unwrap(returned)) && !Node.isLiteralExpression(unwrap(returned))) result = `${value};`;
    const out = new EditSet(text);
    out.replace(site.statement.getStart(), site.statement.getEnd(), [...bindings, inlined, result].filter((t) => t !== "").join("\n"), "inline-trainer-method");
    out.delete(spanStart(method, text), method.getEnd(), "inline-trainer-method");
    return {
      text: out.apply(),
      note: `${cls.getName()}.${method.getName()}() (line ${analysis.sourceFile.getLineAndColumnAtPos(method.getStart()).line}), which leads to backward, → its statements in place of its one call in ${cls.getName()}.${caller.getName()}()`,
    };
  }
  return null;
}

