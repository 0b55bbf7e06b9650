/**
 * A rewrite of the plain script before `--to module` reads it: the epoch loop lives in a function
 * the top-level training code calls once, handing it the model, optimizer and scheduler it built
 * (pytorch/tutorials' transfer-learning tutorial: `model_ft = train_model(model_ft, criterion,
 * optimizer_ft, exp_lr_scheduler, num_epochs=25)`). The function's body takes the call's place,
 * each parameter the argument it was given:
 *
 *   async function trainModel(model: Net, optimizer: optim.Optimizer, numEpochs = 25) {
 *     for (let epoch = 0; epoch < numEpochs; epoch++) {...}      const numEpochs = 4;
 *     return model;                                        →      for (let epoch = 0; epoch < numEpochs; epoch++) {...}
 *   }
 *   ...
 *   modelFt = await trainModel(modelFt, optimizerFt, 4);
 *
 * so the training code is one run of top-level statements, the shape the pipeline maps (the model
 * and optimizer built there become the module's). A parameter handed a variable is that variable
 * (`model` → `modelFt`, unless the body declares that name itself); any other argument, or a
 * default, becomes a `const` of the parameter's name. Names the body declares that the top level
 * already has are renamed. The function runs once, at that point, with the same arguments, so the
 * statements compute what the call did; its final `return` becomes the assignment the call fed.
 */
import type { FunctionDeclaration, Identifier, Statement } from "ts-morph";
import { callSiteOf, isFunctionLike } from "../../analysis/functions.ts";
import { isDeclarationName } from "../../analysis/references.ts";
import type { LocalFunction, ScriptAnalysis } from "../../analysis/types.ts";
import { EditSet } from "../../edits.ts";
import { positionAt } from "../../errors.ts";
import { Node, SyntaxKind, unwrap } from "../../morph.ts";
import { isWrite } from "../shared/writes.ts";
import { spanStart } from "../shared/ranges.ts";
import { renameReference, unusedName, type InputRewrite } from "./input-rewrite.ts";
import { declaredNames, isLoop, within } from "./statements.ts";

export function inlineTrainingFunction(analysis: ScriptAnalysis): InputRewrite | null {
  const entry = analysis.entry;
  if (entry?.kind !== "script") return null;
  const holders = analysis.functions.filter((f) => Node.isFunctionDeclaration(f.node) && holdsEpochLoop(f, analysis));
  if (holders.length !== 1) return null;
  const fn = holders[0]!;
  const node = fn.node as FunctionDeclaration;
  if (fn.calls.length !== 1 || fn.otherReferences.length > 0 || node.isGenerator() || node.isExported()) return null;
  const call = fn.calls[0]!;
  // (a statement, an assignment or a declaration; an async function's call awaited)
  const site = callSiteOf(call);
  if (!site || site.kind === "return" || (node.isAsync() && !site.awaited) || !entry.statements.includes(site.statement)) return null;
  const body = node.getBody();
  if (!body || !Node.isBlock(body) || body.getStatements().length === 0) return null;

  // Only a final return; nothing that means something else outside the function.
  const statements = body.getStatements();
  const last = statements.at(-1)!;
  const finalReturn = Node.isReturnStatement(last) ? last : null;
  const ownNodes = (kind: SyntaxKind) => body.getDescendantsOfKind(kind).filter((d) => d.getFirstAncestor((a) => isFunctionLike(a) && !Node.isArrowFunction(a)) === node);
  if (ownNodes(SyntaxKind.ReturnStatement).some((r) => r !== finalReturn)) return null;
  if (ownNodes(SyntaxKind.ThisKeyword).length > 0 || body.getDescendantsOfKind(SyntaxKind.Identifier).some((id) => id.getText() === "arguments" && !analysis.references.declarationOf(id))) return null;
  if (finalReturn === null && site.kind !== "statement") return null;
  const refs = analysis.references;

  const taken = new Set([...analysis.topLevelNames]);
  const fresh = (wanted: string) => {
    let name = taken.has(wanted) ? unusedName(analysis, wanted) : wanted;
    for (let i = 2; taken.has(name); i++) name = unusedName(analysis, `${wanted}${i}`);
    taken.add(name);
    return name;
  };
  const declaredInBody = new Set(body.getDescendantsOfKind(SyntaxKind.Identifier).filter((id) => isDeclarationName(id)).map((id) => id.getText()));
  const edits = new EditSet(analysis.text);
  // The body's own top-level names, now top-level names of the script.
  for (const s of statements) {
    for (const declared of declaredNamesOf(s)) {
      const name = fresh(declared.getText());
      if (name !== declared.getText()) for (const r of refs.referencesOf(declared)) renameReference(edits, "inline-training-function", r, name);
    }
  }
  const bindings: string[] = [];
  const args = call.getArguments();
  if (args.length > node.getParameters().length) return null;
  for (const [i, p] of node.getParameters().entries()) {
    const name = p.getNameNode();
    if (!Node.isIdentifier(name) || p.isRestParameter()) return null;
    const arg = args[i] ? unwrap(args[i]!) : undefined;
    const uses = refs.usesOf(name);
    const written = uses.some((u) => isWrite(u));
    if (arg && Node.isIdentifier(arg) && !written && !declaredInBody.has(arg.getText())) {
      for (const u of uses) renameReference(edits, "inline-training-function", u, arg.getText());
      continue;
    }
    const value = arg ? arg.getText() : (p.getInitializer()?.getText() ?? "undefined");
    const bound = fresh(name.getText());
    if (bound !== name.getText()) for (const u of uses) renameReference(edits, "inline-training-function", u, bound);
    const typeNode = p.getTypeNode();
    const type = typeNode ? `: ${typeNode.getText()}${p.hasQuestionToken() && !arg && !p.getInitializer() ? " | undefined" : ""}` : "";
    bindings.push(`${written ? "let" : "const"} ${bound}${type} = ${value};`);
  }

  const kept = finalReturn ? statements.slice(0, -1) : statements;
  let text = kept.length > 0 ? edits.render(spanStart(kept[0]!, analysis.text), kept.at(-1)!.getEnd()).trim() : "";
  const returned = finalReturn?.getExpression();
  if (returned) {
    const value = edits.render(returned.getStart(), returned.getEnd());
    if (site.kind === "assign" && value !== site.target) text += `\n${site.target} = ${value};`;
    else if (site.kind === "declare") text += `\n${site.keyword} ${site.target} = ${value};`;
    else if (site.kind === "statement" && !Node.isIdentifier(unwrap(returned)) && !Node.isLiteralExpression(unwrap(returned))) text += `\n${value};`;
  }
  const comments = analysis.text.slice(spanStart(node, analysis.text), node.getStart()).trim();
  const replacement = [comments, ...bindings, text].filter((t) => t !== "").join("\n");

  const out = new EditSet(analysis.text);
  out.delete(spanStart(node, analysis.text), node.getEnd(), "inline-training-function");
  out.replace(site.statement.getStart(), site.statement.getEnd(), replacement, "inline-training-function");
  const line = positionAt(analysis.text, call.getStart()).line;
  return {
    text: out.apply(),
    note: `${fn.name}(...) (line ${line}), which holds the epoch loop, → its body in place of the call, each parameter the argument it was given`,
  };
}

/** A loop of the function's own around a loop around one of the script's backward calls. */
function holdsEpochLoop(fn: LocalFunction, analysis: ScriptAnalysis): boolean {
  return analysis.backwardCalls.some((b) => {
    if (b.call.getFirstAncestor((a) => isFunctionLike(a) && !Node.isArrowFunction(a) && !Node.isFunctionExpression(a)) !== fn.node) return false;
    const loops = b.call.getAncestors().filter((a) => isLoop(a) && within(a, fn.node));
    return loops.length >= 2;
  });
}

function declaredNamesOf(s: Statement): Identifier[] {
  if (Node.isFunctionDeclaration(s) || Node.isClassDeclaration(s)) return s.getNameNode() ? [s.getNameNode()!] : [];
  return Node.isVariableStatement(s) ? declaredNames(s) : [];
}
