/**
 * Helper functions that held a loop are inlined (structure.ts found them; epoch-hooks.ts and
 * entry-code.ts placed their statements): their parameters become what the call passed, their
 * returned value replaces the call, and the function itself goes.
 *
 *   function trainEpoch(model: MLP, loader, optimizer) {      onTrainEpochStart() { this.total = 0; }
 *     let total = 0;                                          trainingStep(...) { ...this.forward(x)...; this.total += ...; }
 *     for (const [x, y] of loader) {...}              →       onTrainEpochEnd() {
 *     return total / batches;                                   const trainLoss = this.total / this.batches;
 *   }                                                           ...
 *   const trainLoss = trainEpoch(model, trainLoader, optimizer);
 */
import type { LocalFunction } from "../../analysis/types.ts";
import type { Identifier, Statement } from "ts-morph";
import { Node, unwrap } from "../../morph.ts";
import type { ModuleBuilder } from "./builder.ts";
import { moduleText, replaceUse } from "./rewrite-uses.ts";
import { CannotMap, type LoopSite } from "./structure.ts";
import { moduleOptimizers } from "./statements.ts";

export function inlineHelpers(m: ModuleBuilder): void {
  const sites = [m.structure.train, m.structure.validation, m.structure.test].filter((s): s is LoopSite => s?.helper != null);
  for (const site of sites) substituteParameters(m, site);
  for (const site of sites) substituteResult(m, site);
}

/** Deletes the inlined helpers; only once every moved statement is rendered (their edits go with them). */
/** The helper functions whose loops were inlined into the module. */
export function inlinedHelpers(m: ModuleBuilder): LocalFunction[] {
  const sites = [m.structure.train, m.structure.validation, m.structure.test].filter((s): s is LoopSite => s?.helper != null);
  return sites.map((s) => s.helper!.fn);
}

/** Removes the inlined helpers, but for those inside `replaced` (top-level training code already replaced as a whole). */
export function removeInlinedHelpers(m: ModuleBuilder, replaced: [number, number] | null): void {
  const sites = [m.structure.train, m.structure.validation, m.structure.test].filter((s): s is LoopSite => s?.helper != null);
  for (const site of sites) {
    const statement = site.helper!.fn.statement;
    if (replaced && statement.getStart() >= replaced[0] && statement.getEnd() <= replaced[1]) continue;
    removeHelper(m, site);
  }
}

function substituteParameters(m: ModuleBuilder, site: LoopSite): void {
  const h = site.helper!;
  const { edits, analysis } = m.ctx;
  const refs = analysis.references;
  h.fn.node.getParameters().forEach((p, i) => {
    const name = p.getNameNode() as Identifier;
    const uses = refs.usesOf(name).filter((u) => !edits.covers(u.getStart(), u.getEnd()) && m.methodOf(u) !== null);
    if (uses.length === 0) return;
    const arg = h.call.getArguments()[i] ?? p.getInitializer();
    if (!arg) throw new CannotMap(p, `${h.fn.name}() is called without its parameter ${p.getName()}`);
    const a = unwrap(arg);
    for (const use of uses) {
      const method = m.methodOf(use)!;
      let text: string | null = null;
      if (Node.isIdentifier(a)) {
        const decl = refs.declarationOf(a);
        const rewrite = decl ? m.rewrites.get(decl) : undefined;
        const optimizerLike = [...moduleOptimizers(m), ...m.ctx.analysis.schedulers].some((o) => o.declaration === decl);
        if (rewrite) text = rewrite(use, method);
        else if (optimizerLike) text = a.getText(); // bound at the top of the method (rewrite-uses.ts)
        else if (decl && !isTrainingLocal(m, decl)) text = a.getText();
        // Declared by code kept at the call site: a top-level name the module reads as it is.
        else if (decl && Node.isVariableDeclaration(decl) && m.destinationOf(decl.getVariableStatement() as Node) === "callSite") text = a.getText();
        else if (decl && Node.isVariableDeclaration(decl) && m.config.has(decl.getVariableStatement() as Node)) {
          text = a.getText();
          for (const dep of m.config.withDependencies(decl.getVariableStatement()!)) {
            if (method !== "callSite" && method !== "copied" && method !== "drop") m.prelude(method, { kind: "statement", node: dep as Statement });
          }
        } else {
          throw new CannotMap(arg, `${h.fn.name}() is inlined, but its argument \`${a.getText()}\` is a local the module does not keep`);
        }
      } else {
        text = `(${moduleText(m, a, method)})`;
      }
      if (text !== null && text !== use.getText()) replaceUse(m, use, text);
    }
  });
}

/** Whether a declaration is a local of the training function (a statement of its body, or nested). */
function isTrainingLocal(m: ModuleBuilder, decl: Node): boolean {
  const fn = m.structure.entry.fn?.node;
  if (fn && decl.getStart() >= fn.getStart() && decl.getEnd() <= fn.getEnd()) return true;
  return m.structure.entry.statements.some((s) => decl.getStart() >= s.getStart() && decl.getEnd() <= s.getEnd());
}

/** `const trainLoss = trainEpoch(...)` → `const trainLoss = (this.total / this.batches)`. */
function substituteResult(m: ModuleBuilder, site: LoopSite): void {
  const h = site.helper!;
  if (!h.returnStatement || m.destinationOf(site.statement) === "drop") return;
  const value = h.returnStatement.getExpression();
  if (!value) return;
  const { edits } = m.ctx;
  let target: Node = h.call;
  const parent = target.getParent();
  if (parent && Node.isAwaitExpression(parent)) target = parent;
  const text = edits.render(value.getStart(), value.getEnd());
  edits.replaceMoved(target.getStart(), target.getEnd(), `(${text})`, "module-helper-result");
}

/** Deletes the inlined helper (with its doc comment). */
function removeHelper(m: ModuleBuilder, site: LoopSite): void {
  const h = site.helper!;
  const statement = h.fn.statement;
  const text = m.text;
  const comments = statement.getLeadingCommentRanges();
  let start = comments.length > 0 ? comments[0]!.getPos() : statement.getStart();
  start = text.lastIndexOf("\n", start - 1) + 1;
  let end = statement.getEnd();
  const rest = /^[ \t]*\r?\n(?:[ \t]*\r?\n)?/.exec(text.slice(end));
  if (rest) end += rest[0].length;
  m.ctx.edits.replaceMoved(start, end, "", "module-helper");
}
