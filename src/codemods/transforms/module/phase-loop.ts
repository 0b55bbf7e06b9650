/**
 * A rewrite of the plain script before `--to module` reads it: an epoch that loops over its
 * phases — `for (const phase of ["train", "val"])` around one batch loop that trains or
 * evaluates depending on `phase` (pytorch/tutorials' transfer-learning tutorial and the many
 * scripts copied from it) — becomes the phases one after the other, each with `phase` known:
 *
 *   for (const phase of ["train", "val"]) {       model.train();
 *     if (phase === "train") model.train();        let trainRunningLoss = 0.0;
 *     else model.eval();                           for (let [inputs, labels] of dataloaders["train"]) {
 *     let runningLoss = 0.0;                  →      ...; loss.backward(); optimizer.step();
 *     for (let [inputs, labels] of dataloaders[phase]) {   }
 *       ...                                        model.eval();
 *       if (phase === "train") { loss.backward(); optimizer.step(); }   let valRunningLoss = 0.0;
 *     }                                            for (let [inputs, labels] of dataloaders["val"]) { ... }
 *   }
 *
 * which is the train-then-validate epoch the pipeline maps to trainingStep and validationStep.
 * Comparisons of `phase` with a string are decided, the `if`s they decide keep only the branch
 * taken, and every other use of `phase` is the phase's string. The copies run in the script's own
 * order with the same statements, so they compute what the loop did. Names the loop body declares
 * are prefixed with their phase (`trainRunningLoss`, `valRunningLoss`): the copies now share a
 * scope, and as the module's fields they are two different values anyway.
 */
import type { ForOfStatement, IfStatement, Node as TsNode, StringLiteral } from "ts-morph";
import type { ScriptAnalysis } from "../../analysis/types.ts";
import { EditSet } from "../../edits.ts";
import { positionAt } from "../../errors.ts";
import { Node, SyntaxKind, unwrap } from "../../morph.ts";
import { indentationAt, spanStart } from "../shared/ranges.ts";
import { unusedName, type InputRewrite } from "./input-rewrite.ts";
import { declaredNames, isLoop, within } from "./statements.ts";

export function unrollPhaseLoop(analysis: ScriptAnalysis): InputRewrite | null {
  if (analysis.backwardCalls.length === 0) return null;
  const loop = phaseLoop(analysis);
  if (!loop) return null;
  // (the loop's `const phase` declaration: every use of `phase` refers to it)
  const phaseDecl = analysis.references.declarationOf(loop.getInitializer().getFirstDescendantByKind(SyntaxKind.Identifier)!)!;
  const phases = (unwrap(loop.getExpression()) as TsNode).asKindOrThrow(SyntaxKind.ArrayLiteralExpression).getElements() as StringLiteral[];
  const body = loop.getStatement().asKindOrThrow(SyntaxKind.Block);

  // The names the body declares at its top level, each renamed per phase.
  const declared = body.getStatements().flatMap((s) => (Node.isVariableStatement(s) ? declaredNames(s) : []));
  const taken = new Set<string>();
  const copies = phases.map((phaseLiteral) => {
    const phase = phaseLiteral.getLiteralValue();
    const renamed = new Map<TsNode, string>();
    for (const name of declared) {
      const decl = analysis.references.declarationOf(name);
      if (!decl || renamed.has(decl)) continue;
      const wanted = /^[A-Za-z_$][\w$]*$/.test(phase) ? phase + name.getText()[0]!.toUpperCase() + name.getText().slice(1) : `${name.getText()}${phases.indexOf(phaseLiteral) + 1}`;
      let fresh = unusedName(analysis, wanted);
      for (let i = 2; taken.has(fresh); i++) fresh = unusedName(analysis, `${wanted}${i}`);
      taken.add(fresh);
      renamed.set(decl, fresh);
    }
    return specialised(body, phaseDecl, phase, renamed, analysis);
  });
  const edits = new EditSet(analysis.text);
  const indent = indentationAt(loop.getStart(), analysis.text);
  edits.replace(loop.getStart(), loop.getEnd(), copies.filter((c) => c !== "").join(`\n\n${indent}`), "phase-loop");
  const line = positionAt(analysis.text, loop.getStart()).line;
  return {
    text: edits.apply(),
    note: `the loop over phases \`${loop.getExpression().getText()}\` (line ${line}) → its phases one after the other (the ${phases.map((p) => `"${p.getLiteralValue()}"`).join(" and ")} batch loops)`,
  };
}

/**
 * `for (const phase of ["a", "b", ...])` (string literals) around the script's backward calls, with
 * a batch loop inside, whose body reads `phase` only as a value (never assigns it).
 */
function phaseLoop(analysis: ScriptAnalysis): ForOfStatement | null {
  const candidates = new Set<ForOfStatement>();
  for (const b of analysis.backwardCalls) {
    const loop = b.call.getFirstAncestor((a) => Node.isForOfStatement(a) && Node.isArrayLiteralExpression(unwrap(a.getExpression())));
    if (loop) candidates.add(loop as ForOfStatement);
  }
  if (candidates.size !== 1) return null;
  const loop = [...candidates][0]!;
  const elements = (unwrap(loop.getExpression()) as TsNode).asKindOrThrow(SyntaxKind.ArrayLiteralExpression).getElements();
  if (elements.length < 2 || !elements.every((e) => Node.isStringLiteral(e) || Node.isNoSubstitutionTemplateLiteral(e))) return null;
  const init = loop.getInitializer();
  if (!Node.isVariableDeclarationList(init) || init.getDeclarations().length !== 1) return null;
  const nameNode = init.getDeclarations()[0]!.getNameNode();
  if (!Node.isIdentifier(nameNode) || !Node.isBlock(loop.getStatement())) return null;
  // A batch loop inside: the phases are what each pass of it does.
  if (!loop.getStatement().getDescendants().some((d) => isLoop(d) && analysis.backwardCalls.some((b) => within(b.call, d)))) return null;
  return loop;
}

/** The loop body's text with `phase` known: comparisons decided, dead branches gone, names renamed. */
function specialised(body: TsNode, phaseDecl: TsNode, phase: string, renamed: Map<TsNode, string>, analysis: ScriptAnalysis): string {
  const edits = new EditSet(analysis.text);
  const decide = (e: TsNode): boolean | null => decided(e, phaseDecl, phase, analysis);

  // `if`s whose condition is decided keep the branch taken; `a && b` with `a` decided loses `a`.
  for (const s of body.getDescendantsOfKind(SyntaxKind.IfStatement)) {
    if (edits.covers(s.getStart(), s.getEnd())) continue;
    const verdict = decide(s.getExpression());
    if (verdict === null) continue;
    keepBranch(s, verdict, edits);
  }
  // `phase === "train" ? trainLoader : valLoader` → the branch taken
  for (const e of body.getDescendantsOfKind(SyntaxKind.ConditionalExpression)) {
    if (edits.covers(e.getStart(), e.getEnd())) continue;
    const verdict = decide(e.getCondition());
    if (verdict === null) continue;
    const kept = verdict ? e.getWhenTrue() : e.getWhenFalse();
    edits.delete(e.getStart(), kept.getStart(), "phase-loop");
    edits.delete(kept.getEnd(), e.getEnd(), "phase-loop");
  }
  for (const e of body.getDescendantsOfKind(SyntaxKind.BinaryExpression)) {
    if (edits.covers(e.getStart(), e.getEnd())) continue;
    const op = e.getOperatorToken().getKind();
    if (op !== SyntaxKind.AmpersandAmpersandToken && op !== SyntaxKind.BarBarToken) continue;
    const neutral = op === SyntaxKind.AmpersandAmpersandToken;
    // (an operand that decides the whole expression leaves it to the comparison below)
    if (decide(e.getLeft()) === neutral) edits.delete(e.getLeft().getStart(), e.getRight().getStart(), "phase-loop");
    else if (decide(e.getRight()) === neutral) edits.delete(e.getLeft().getEnd(), e.getRight().getEnd(), "phase-loop");
  }
  for (const e of body.getDescendantsOfKind(SyntaxKind.BinaryExpression)) {
    if (edits.covers(e.getStart(), e.getEnd()) || !isComparison(e)) continue;
    const verdict = decide(e);
    if (verdict !== null) edits.replace(e.getStart(), e.getEnd(), String(verdict), "phase-loop");
  }

  for (const id of body.getDescendantsOfKind(SyntaxKind.Identifier)) {
    if (edits.covers(id.getStart(), id.getEnd())) continue;
    const decl = analysis.references.declarationOf(id);
    if (!decl) continue;
    const parent = id.getParent();
    const fresh = renamed.get(decl);
    if (fresh !== undefined) {
      const shorthand = Node.isShorthandPropertyAssignment(parent) && parent.getNameNode() === id;
      edits.replace(id.getStart(), id.getEnd(), shorthand ? `${id.getText()}: ${fresh}` : fresh, "phase-loop");
    } else if (decl === phaseDecl) {
      if (Node.isTemplateSpan(parent) && parent.getExpression() === id) {
        // `${phase}` → the phase's text inside the template
        edits.replace(id.getStart() - 2, id.getEnd() + 1, phase.replace(/[`\\]|\$\{/g, (c) => `\\${c}`), "phase-loop");
      } else {
        const shorthand = Node.isShorthandPropertyAssignment(parent) && parent.getNameNode() === id;
        edits.replace(id.getStart(), id.getEnd(), shorthand ? `${id.getText()}: ${JSON.stringify(phase)}` : JSON.stringify(phase), "phase-loop");
      }
    }
  }
  const block = body.asKindOrThrow(SyntaxKind.Block);
  const statements = block.getStatements();
  if (statements.length === 0) return "";
  // From after the `{` so the first statement's comments come along.
  return edits.render(block.getStart() + 1, statements.at(-1)!.getEnd()).trim();
}

/** `if (c) T else E` with `c` decided → T's (or E's) statements, or nothing. */
function keepBranch(s: IfStatement, verdict: boolean, edits: EditSet): void {
  const kept = verdict ? s.getThenStatement() : s.getElseStatement();
  if (!kept) {
    // (with the comments above it: they describe what is gone)
    edits.delete(spanStart(s, edits.original), s.getEnd(), "phase-loop");
    return;
  }
  // A block that declares names keeps its braces (its names stay in its scope).
  const unwrapBlock = Node.isBlock(kept) && !kept.getStatements().some((t) => Node.isVariableStatement(t) || Node.isClassDeclaration(t) || Node.isFunctionDeclaration(t));
  const start = unwrapBlock ? kept.getStart() + 1 : kept.getStart();
  const end = unwrapBlock ? kept.getEnd() - 1 : kept.getEnd();
  edits.delete(s.getStart(), start, "phase-loop");
  edits.delete(end, s.getEnd(), "phase-loop");
}

function isComparison(e: TsNode): boolean {
  if (!Node.isBinaryExpression(e)) return false;
  const op = e.getOperatorToken().getKind();
  return op === SyntaxKind.EqualsEqualsEqualsToken || op === SyntaxKind.EqualsEqualsToken || op === SyntaxKind.ExclamationEqualsEqualsToken || op === SyntaxKind.ExclamationEqualsToken;
}

/** The value of a condition once `phase` is known, or null when it depends on anything else. */
function decided(e: TsNode, phaseDecl: TsNode, phase: string, analysis: ScriptAnalysis): boolean | null {
  const node = unwrap(e) as TsNode;
  const recurse = (n: TsNode) => decided(n, phaseDecl, phase, analysis);
  if (Node.isTrueLiteral(node) || Node.isFalseLiteral(node)) return Node.isTrueLiteral(node);
  if (Node.isPrefixUnaryExpression(node) && node.getOperatorToken() === SyntaxKind.ExclamationToken) {
    const inner = recurse(node.getOperand());
    return inner === null ? null : !inner;
  }
  if (!Node.isBinaryExpression(node)) return null;
  const op = node.getOperatorToken().getKind();
  if (op === SyntaxKind.AmpersandAmpersandToken || op === SyntaxKind.BarBarToken) {
    const [l, r] = [recurse(node.getLeft()), recurse(node.getRight())];
    const and = op === SyntaxKind.AmpersandAmpersandToken;
    if (l === !and || r === !and) return !and;
    return l !== null && r !== null ? (and ? l && r : l || r) : null;
  }
  if (!isComparison(node)) return null;
  const isPhase = (n: TsNode) => {
    const u = unwrap(n) as TsNode;
    return Node.isIdentifier(u) && analysis.references.declarationOf(u) === phaseDecl;
  };
  const literal = (n: TsNode) => {
    const u = unwrap(n) as TsNode;
    return Node.isStringLiteral(u) || Node.isNoSubstitutionTemplateLiteral(u) ? u.getLiteralValue() : null;
  };
  const [left, right] = [node.getLeft(), node.getRight()];
  const value = isPhase(left) ? literal(right) : isPhase(right) ? literal(left) : null;
  if (value === null) return null;
  const equal = value === phase;
  return op === SyntaxKind.EqualsEqualsEqualsToken || op === SyntaxKind.EqualsEqualsToken ? equal : !equal;
}
