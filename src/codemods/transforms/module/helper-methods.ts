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

export function placeHelperMethods(m: ModuleBuilder): void {
  const inlined = new Set<Node>(inlinedHelpers(m).map((h) => h.statement));
  const { entry } = m.structure;
  const candidates: FunctionDeclaration[] = [];
  const script = m.ctx.analysis.entry?.kind === "script" ? m.ctx.analysis.entry.statements : [];
  for (const s of [...script.filter((t) => !entry.statements.includes(t)), ...entry.statements]) {
    if (Node.isFunctionDeclaration(s) && !inlined.has(s) && s.getName() && s.getBody()) candidates.push(s);
  }
  const chosen = new Set<FunctionDeclaration>();
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
    m.note(`${name.getText()}() (line ${m.line(fn)}) reads the module's state → private method ${name.getText()}()`);
  }
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
