/**
 * The script's own functions that read what the module now holds become its private methods:
 *
 *   function checkpoint(epoch: number) {          private async checkpoint(epoch: number) {
 *     await save(model.stateDict(), path);    →      await save(this.model.stateDict(), path);
 *   }                                              }
 *   checkpoint(epoch);                             this.checkpoint((this.currentEpoch + 1));
 *
 * Candidates: function declarations among top-level training code, and functions declared in
 * main's body. One that reads only what stays outside the module (configuration kept at the
 * call site, top-level declarations) stays a plain function where it is.
 */
import type { FunctionDeclaration, Identifier, Statement } from "ts-morph";
import { Node, SyntaxKind } from "../../morph.ts";
import type { ModuleBuilder } from "./builder.ts";
import { inlinedHelpers } from "./inline-helpers.ts";
import { CannotMap } from "./structure.ts";
import { within } from "./statements.ts";
import { isOptimizerType } from "../../analysis/handed-in.ts";

export function placeHelperMethods(m: ModuleBuilder): void {
  const inlined = new Set<Node>(inlinedHelpers(m).map((h) => h.statement));
  const { entry } = m.structure;
  const candidates: FunctionDeclaration[] = [];
  const script = m.ctx.analysis.entry?.kind === "script" ? m.ctx.analysis.entry.statements : [];
  for (const s of [...script.filter((t) => !entry.statements.includes(t)), ...entry.statements]) {
    if (Node.isFunctionDeclaration(s) && !inlined.has(s) && s.getName() && s.getBody()) candidates.push(s);
  }
  const chosen = new Set<FunctionDeclaration>();
  // A function the training code calls that backpropagates (nn_tutorial's lossBatch(model,
  // lossFunc, xb, yb, opt)) runs the module's manualBackward: a method, wherever it is declared.
  const backpropagating = new Set<FunctionDeclaration>();
  for (const fn of backwardHelpers(m)) {
    if (inlined.has(fn)) continue;
    if (!candidates.includes(fn)) candidates.push(fn);
    chosen.add(fn);
    backpropagating.add(fn);
    lightningOptimizerParameters(m, fn);
  }
  // Reading module state makes a method; so does calling such a method (fixed point).
  for (let changed = true; changed; ) {
    changed = false;
    for (const fn of candidates) {
      if (chosen.has(fn) || !readsModuleState(m, fn, chosen)) continue;
      chosen.add(fn);
      changed = true;
    }
  }
  for (const fn of candidates) {
    if (!chosen.has(fn)) continue;
    // (a function main's body declares was placed with the rest of its code: it moves)
    m.unplace(fn);
    m.place(fn as Statement, "helperMethods");
    const name = fn.getNameNode()!;
    for (const use of m.usesOf(name)) {
      if (m.methodOf(use) === "callSite") throw new CannotMap(use, `${name.getText()}() reads the model or the data and is called before the module exists`);
    }
    m.rewrites.set(fn, (_use: Identifier, method) => (method === "callSite" || method === "copied" || method === "drop" ? null : `this.${name.getText()}`));
    copyConfigurationInto(m, fn);
    const why = backpropagating.has(fn) ? "backpropagates for the training code" : "reads the module's state";
    m.note(`${name.getText()}() (line ${m.line(fn)}) ${why} → private method ${name.getText()}()`);
  }
}

/**
 * Under manual optimisation the method is handed `this.optimizers()`, a LightningOptimizer (its
 * step goes through the strategy and precision plugin): a parameter typed as the script's
 * optimizer (`opt: optim.Optimizer | null`) is typed as one.
 */
function lightningOptimizerParameters(m: ModuleBuilder, fn: FunctionDeclaration): void {
  for (const p of fn.getParameters()) {
    const type = p.getTypeNode();
    if (!type) continue;
    const parts = Node.isUnionTypeNode(type) ? type.getTypeNodes() : [type];
    for (const part of parts) {
      if (!isOptimizerType(part.getText())) continue;
      m.ctx.edits.replace(part.getStart(), part.getEnd(), "LightningOptimizer", "module-helper-type");
      m.runtimeImports.add("LightningOptimizer");
    }
  }
}

/**
 * Top-level functions holding a backward of the training loop, called only from code the module
 * takes: the training function, the top-level training code, a loop helper inlined into a step.
 */
function backwardHelpers(m: ModuleBuilder): FunctionDeclaration[] {
  const { entry } = m.structure;
  const moduleCode: Node[] = [...(entry.fn ? [entry.fn.node] : entry.statements), ...inlinedHelpers(m).map((h) => h.node)];
  const backward = m.ctx.analysis.trainingLoops[0]?.backward ?? [];
  return m.ctx.analysis.functions.flatMap((f) => {
    const node = f.node;
    if (!Node.isFunctionDeclaration(node) || !Node.isSourceFile(node.getParent()) || !node.getName() || !node.getBody()) return [];
    if (moduleCode.some((c) => within(node, c)) || !backward.some((b) => within(b.call, node))) return [];
    if (f.otherReferences.length > 0 || !f.calls.every((c) => moduleCode.some((code) => within(c, code)))) return [];
    return [node];
  });
}

/** The configuration constants a new method reads (`const eps = ...` among the training code) open its body, as they open a hook's. */
function copyConfigurationInto(m: ModuleBuilder, fn: FunctionDeclaration): void {
  const needed = new Set<Statement>();
  for (const id of fn.getDescendantsOfKind(SyntaxKind.Identifier)) {
    const s = m.config.statementOf(id);
    if (s) m.config.withDependencies(s).forEach((d) => needed.add(d));
  }
  if (needed.size === 0) return;
  const ordered = [...needed].sort((a, b) => a.getStart() - b.getStart());
  m.openHelperBody(fn, ordered.map((s) => m.ctx.edits.render(s.getStart(), s.getEnd())).join("\n"));
}

/** Whether `fn` reads a name whose declaration went into the module (or a function that became a method). */
function readsModuleState(m: ModuleBuilder, fn: FunctionDeclaration, methods: ReadonlySet<Node>): boolean {
  const refs = m.ctx.analysis.references;
  return fn.getDescendantsOfKind(SyntaxKind.Identifier).some((id) => {
    const decl = refs.declarationOf(id);
    if (!decl || within(decl, fn)) return false;
    if (methods.has(decl)) return true;
    const statement = m.structure.entry.statements.find((s) => within(decl, s));
    if (!statement) return false;
    const destination = m.destinationOf(statement);
    return destination !== undefined && destination !== "callSite" && destination !== "copied";
  });
}

/** `function name(...)` / `async function name(...)` → `private name(...)` / `private async name(...)`. */
export function methodFromFunction(text: string): string {
  return text.replace(/^(?:export\s+)?(async\s+)?function\s*(\*?)\s*/, (_all, isAsync: string | undefined, star: string) => `private ${isAsync ?? ""}${star}`);
}
