/**
 * Imports of a `--to module` output: `LightningModule` and `Trainer` from `lightning-ts` (merged
 * into an existing import of it), `tf` when the steps' parameter types need it, and the torch
 * names the migration left unused dropped (`cuda`, `noGrad`, ...).
 *
 * Unlike `--to lite`, this runs on the assembled text: the module is built from moved code, so
 * whether a name is still used is only known once the class exists. It is a second splice over a
 * fresh parse (a few milliseconds), and only drops names the script used and the output no
 * longer does: an import the user left unused stays.
 */
import { applyEdits, type TextEdit } from "../../edits.ts";
import { isRuntimeModuleSpecifier, isTorchModuleSpecifier, runtimeSpecifierFor } from "../../analysis/torch.ts";
import type { ScriptAnalysis } from "../../analysis/types.ts";
import { ts } from "../../morph.ts";
import type { ts as tsTypes } from "ts-morph";
import type { EditCounts } from "../context.ts";
import { newlineOf } from "../shared/ranges.ts";

export interface ModuleImportNeeds {
  runtime: string[];
  /** `tf` must be importable from the torch module (parameter types). */
  tf: boolean;
}

export function updateModuleImports(text: string, analysis: ScriptAnalysis, needs: ModuleImportNeeds, counts: EditCounts, notes: string[]): string {
  const sf = ts.createSourceFile("/module.ts", text, ts.ScriptTarget.ES2022, true, ts.ScriptKind.TS);
  const nl = newlineOf(text);
  const used = usedNames(sf);
  const edits: TextEdit[] = [];
  const imports = sf.statements.filter(ts.isImportDeclaration);
  const specOf = (d: tsTypes.ImportDeclaration) => (d.moduleSpecifier as tsTypes.StringLiteral).text;
  const torch = imports.filter((d) => isTorchModuleSpecifier(specOf(d)) && !d.importClause?.isTypeOnly);
  const runtime = imports.find((d) => isRuntimeModuleSpecifier(specOf(d)) && !d.importClause?.isTypeOnly);

  // ---- add LightningModule, Trainer ----
  const namedOf = (d: tsTypes.ImportDeclaration | undefined) =>
    d?.importClause?.namedBindings && ts.isNamedImports(d.importClause.namedBindings) ? d.importClause.namedBindings : null;
  const runtimeNamed = namedOf(runtime);
  const present = new Set(runtimeNamed?.elements.map((e) => e.name.text) ?? []);
  const missing = needs.runtime.filter((n) => !present.has(n));
  if (missing.length > 0) {
    if (runtimeNamed && runtimeNamed.elements.length > 0) {
      const last = runtimeNamed.elements[runtimeNamed.elements.length - 1]!;
      edits.push({ start: last.getEnd(), end: last.getEnd(), text: `, ${missing.join(", ")}`, tag: "import-add" });
    } else {
      const spec = runtimeSpecifierFor(analysis.torchImport?.moduleSpecifier ?? "lightning-ts/torch");
      const anchor = torch[0] ?? imports[0];
      const line = `import { ${missing.join(", ")} } from ${JSON.stringify(spec)};`;
      const at = anchor ? anchor.getStart(sf) : 0;
      edits.push({ start: at, end: at, text: anchor ? `${line}${nl}` : `${line}${nl}${nl}`, tag: "import-add" });
    }
    counts.importsAdded += missing.length;
  }

  // ---- torch names: drop what the migration made unused, add tf when needed ----
  const originallyUsed = new Set<string>();
  for (const d of analysis.torchImport?.declarations ?? []) {
    for (const s of d.getNamedImports()) {
      const local = s.getAliasNode()?.getText() ?? s.getName();
      if (analysis.references.identifiersNamed(local).some((id) => id.getParent() !== s)) originallyUsed.add(local);
    }
  }
  let tfAvailable = !needs.tf;
  for (const d of torch) {
    const named = namedOf(d);
    if (!named) {
      tfAvailable = true; // a namespace import: `torch.tf`
      continue;
    }
    const keep = named.elements.filter((e) => !originallyUsed.has(e.name.text) || used.has(e.name.text));
    if (named.elements.some((e) => (e.propertyName ?? e.name).text === "tf" && keep.includes(e))) tfAvailable = true;
    const dropped = named.elements.filter((e) => !keep.includes(e));
    const addTf = !tfAvailable && d === torch[0];
    if (addTf) tfAvailable = true;
    if (dropped.length === 0 && !addTf) continue;
    counts.importsRemoved += dropped.length;
    if (dropped.length > 0) {
      notes.push(`import of ${dropped.map((e) => e.getText(sf)).join(", ")} from ${specOf(d)} removed (no longer used)`);
    }
    const texts = [...(addTf ? ["tf"] : []), ...keep.map((e) => e.getText(sf))];
    if (texts.length === 0 && !d.importClause?.name) {
      const r = removalRange(d, text, sf);
      edits.push({ start: r.start, end: r.end, text: "", tag: "import-remove" });
    } else {
      edits.push({ start: named.getStart(sf), end: named.getEnd(), text: `{ ${texts.join(", ")} }`, tag: "import-remove" });
    }
  }
  if (!tfAvailable) {
    const line = `import { tf } from ${JSON.stringify(analysis.torchImport?.moduleSpecifier ?? "lightning-ts/torch")};`;
    const anchor = imports[imports.length - 1];
    edits.push({ start: anchor ? anchor.getEnd() : 0, end: anchor ? anchor.getEnd() : 0, text: anchor ? `${nl}${line}` : `${line}${nl}`, tag: "import-add" });
  }
  return applyEdits(text, edits);
}

/** Identifiers used as names (not property names, not in import declarations). */
function usedNames(sf: tsTypes.SourceFile): Set<string> {
  const out = new Set<string>();
  const visit = (n: tsTypes.Node): void => {
    if (ts.isImportDeclaration(n)) return;
    if (ts.isIdentifier(n)) {
      const p = n.parent;
      const isMemberName =
        (ts.isPropertyAccessExpression(p) && p.name === n) ||
        (ts.isPropertyAssignment(p) && p.name === n) ||
        ((ts.isMethodDeclaration(p) || ts.isPropertyDeclaration(p) || ts.isPropertySignature(p)) && p.name === n) ||
        (ts.isQualifiedName(p) && p.right === n);
      if (!isMemberName) out.add(n.text);
    }
    ts.forEachChild(n, visit);
  };
  visit(sf);
  return out;
}

function removalRange(d: tsTypes.ImportDeclaration, text: string, sf: tsTypes.SourceFile): { start: number; end: number } {
  let start = d.getStart(sf);
  let end = d.getEnd();
  const lineStart = text.lastIndexOf("\n", start - 1) + 1;
  if (/^[ \t]*$/.test(text.slice(lineStart, start))) start = lineStart;
  if (text[end] === "\r") end++;
  if (text[end] === "\n") end++;
  return { start, end };
}
