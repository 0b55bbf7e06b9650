/**
 * A rewrite of the plain script before `--to module` reads it: a batch loop that slices its
 * batches by hand (`for (let i = 0; i < n; i += bs) { const xb = x.slice(i, bs); ... }`, the bptt
 * loop of word_language_model) iterates the values its own header produces instead, computed once
 * before the epoch loop, so that it is a loop the Trainer can run: each value is one training
 * step, in the same order, and the step slices the batch as the script did.
 *
 *                                                 const trainBatches: number[] = Array.from((function* () {
 *                                                   for (let i = 0; i < n; i += bs) yield i as number;
 *   for (let epoch = 0; ...) {                    })());
 *     for (let i = 0; i < n; i += bs) {      →    for (let epoch = 0; ...) {
 *       const xb = x.slice(i, bs); ...              for (const i of trainBatches) {
 *                                                     const xb = x.slice(i, bs); ...
 *
 * Only when the header reads nothing the loops change: the loop's own variables (which its body
 * does not write) and what is constant from the epoch loop on.
 */
import type { ForStatement, Identifier, Node as TsNode } from "ts-morph";
import { isFunctionLike } from "../../analysis/functions.ts";
import type { ScriptAnalysis } from "../../analysis/types.ts";
import { EditSet } from "../../edits.ts";
import { positionAt } from "../../errors.ts";
import { Node, SyntaxKind, VariableDeclarationKind } from "../../morph.ts";
import { indentationAt, spanStart } from "../shared/ranges.ts";
import { isWrite } from "../shared/writes.ts";
import { aboveEpochLoop, loopAroundBackward, unusedName, type InputRewrite } from "./input-rewrite.ts";
import { isLoop, within } from "./statements.ts";

export function iterateHandSlicedBatches(analysis: ScriptAnalysis): InputRewrite | null {
  if (analysis.trainingLoops.length > 0 || analysis.backwardCalls.length === 0) return null;
  const batchLoop = loopAroundBackward(analysis);
  if (!batchLoop || !Node.isForStatement(batchLoop)) return null;
  const epochLoop = loopAround(batchLoop, analysis);
  if (!epochLoop) return null;

  const init = batchLoop.getInitializer();
  if (!init || !Node.isVariableDeclarationList(init) || init.getDeclarationKind() !== VariableDeclarationKind.Let) return null;
  const vars = init.getDeclarations();
  if (vars.some((d) => !Node.isIdentifier(d.getNameNode()) || !d.getInitializer()) || !batchLoop.getCondition() || !batchLoop.getIncrementor()) return null;
  const own = new Set<TsNode>(vars);
  // The body must not move the loop's variables: the values are computed before it runs.
  for (const d of vars) {
    for (const use of analysis.references.usesOf(d.getNameNode() as Identifier)) {
      if (within(use, batchLoop.getStatement()) && isWrite(use)) return null;
    }
  }
  // The header reads the loop's variables and constants visible before the epoch loop.
  const header = [init, batchLoop.getCondition()!, batchLoop.getIncrementor()!];
  for (const part of header) {
    for (const id of part.getDescendantsOfKind(SyntaxKind.Identifier)) {
      const decl = analysis.references.declarationOf(id);
      if (decl === undefined) {
        if (["Math", "Number", "Infinity"].includes(id.getText())) continue;
        if (isMemberName(id)) continue;
        return null;
      }
      if (own.has(decl)) continue;
      if (!constantBefore(decl, epochLoop, analysis)) return null;
    }
  }

  const text = analysis.text;
  const names = vars.map((d) => d.getName());
  // Counters (numbers) in the usual loop; the list's type is what trainingStep's batch is typed.
  const numeric = vars.every((d) => /^[\d\s+\-*/().]*$/.test(d.getInitializer()!.getText()) || /^[\w.]+\s*[-+*/]\s*[\w.]+$/.test(d.getInitializer()!.getText()));
  if (!numeric) return null;
  const value = names.length === 1 ? names[0]! : `[${names.join(", ")}]`;
  const type = names.length === 1 ? "number[]" : `[${names.map(() => "number").join(", ")}][]`;
  const list = unusedName(analysis, "trainBatches");
  const edits = new EditSet(text);
  const anchor = aboveEpochLoop(epochLoop);
  const indent = indentationAt(anchor.getStart(), text);
  const line = positionAt(text, batchLoop.getStart()).line;
  edits.insert(
    spanStart(anchor, text),
    `${indent}// The batches the loop at line ${line} slices by hand, as its own header counts them: one training step each.\n` +
      `${indent}const ${list}: ${type} = Array.from((function* () {\n` +
      `${indent}  for (${init.getText()}; ${batchLoop.getCondition()!.getText()}; ${batchLoop.getIncrementor()!.getText()}) yield ${value} as ${names.length === 1 ? "number" : `[${names.map(() => "number").join(", ")}]`};\n` +
      `${indent}})());\n`,
    "hand-sliced-list",
  );
  const binding = names.length === 1 ? names[0]! : `[${names.join(", ")}]`;
  edits.replace(batchLoop.getStart(), batchLoop.getStatement().getStart(), `for (const ${binding} of ${list}) `, "hand-sliced-loop");
  return {
    text: edits.apply(),
    note: `batches sliced by hand (line ${line}) → the loop iterates \`${list}\`, the values its header counted (one training step each, same order)`,
  };
}

/**
 * The counted epoch loop around the batch loop: in its function, or around the one call of the
 * function holding it (`train()` called from the epoch loop).
 */
function loopAround(loop: ForStatement, analysis: ScriptAnalysis): ForStatement | null {
  let n: TsNode = loop;
  for (let hops = 0; hops < 4; hops++) {
    for (let a = n.getParent(); a; a = a.getParent()) {
      if (isLoop(a)) return Node.isForStatement(a) ? a : null;
      if (isFunctionLike(a)) {
        const fn = analysis.functions.find((f) => f.node === a);
        if (!fn || fn.calls.length !== 1) return null;
        n = fn.calls[0]!;
        break;
      }
      if (Node.isSourceFile(a)) return null;
    }
  }
  return null;
}

/**
 * Declared before `loop` in a scope that holds it, and constant from the loop on: a `const`, or a
 * `let` the code before the loop finishes setting (`trainData = batchify(trainData, bs)`), by
 * statements of the same function.
 */
function constantBefore(decl: TsNode, loop: TsNode, analysis: ScriptAnalysis): boolean {
  if (!Node.isVariableDeclaration(decl) || !Node.isIdentifier(decl.getNameNode())) return false;
  const scope = decl.getFirstAncestor((a) => Node.isBlock(a) || Node.isSourceFile(a));
  if (scope === undefined || !within(loop, scope) || decl.getEnd() > loop.getStart()) return false;
  if (decl.getVariableStatement()?.getDeclarationKind() === VariableDeclarationKind.Const) return true;
  const owner = (n: TsNode) => n.getFirstAncestor((a) => isFunctionLike(a));
  return analysis.references
    .usesOf(decl.getNameNode() as Identifier)
    .filter((u) => isWrite(u))
    .every((w) => w.getEnd() <= loop.getStart() && owner(w) === owner(decl));
}

function isMemberName(id: Identifier): boolean {
  const parent = id.getParent();
  return parent !== undefined && Node.isPropertyAccessExpression(parent) && parent.getNameNode() === id;
}
