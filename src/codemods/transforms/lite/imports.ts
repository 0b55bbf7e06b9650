/**
 * Imports: `import { LightningLite } from "lightning-ts";` is added (merged into an existing
 * `lightning-ts` import if there is one), and torch names that the migration made unused
 * (`cuda`, `save`, `load`, `device`) are dropped. Names the script imported but never used are
 * left alone: cleaning those up is not this codemod's business.
 */
import { Node } from "../../morph.ts";
import type { Identifier, ImportDeclaration } from "ts-morph";
import { isRuntimeModuleSpecifier, runtimeSpecifierFor } from "../../analysis/torch.ts";
import type { TransformContext } from "../context.ts";
import { newlineOf, statementRemovalRange } from "../shared/ranges.ts";
import { LITE_TYPE } from "./lite-access.ts";

export function updateImports(ctx: TransformContext): void {
  const { analysis, edits } = ctx;
  const sf = analysis.sourceFile;
  const torch = analysis.torchImport;
  const nl = newlineOf(analysis.text);

  // ---- add LightningLite ----
  const runtime = sf.getImportDeclarations().find((d) => isRuntimeModuleSpecifier(d.getModuleSpecifierValue()) && !d.isTypeOnly());
  const alreadyImported = runtime?.getNamedImports().some((s) => (s.getAliasNode()?.getText() ?? s.getName()) === LITE_TYPE);
  if (!alreadyImported) {
    const named = runtime?.getNamedImports() ?? [];
    if (runtime && named.length > 0) {
      edits.insert(named[named.length - 1]!.getEnd(), `, ${LITE_TYPE}`, "import-add");
    } else {
      const spec = runtimeSpecifierFor(torch?.moduleSpecifier ?? "lightning-ts/torch");
      const anchor: ImportDeclaration | undefined = torch?.declarations[0] ?? sf.getImportDeclarations()[0];
      const line = `import { ${LITE_TYPE} } from ${JSON.stringify(spec)};`;
      if (anchor) edits.insert(anchor.getStart(), `${line}${nl}`, "import-add");
      else edits.insert(0, `${line}${nl}${nl}`, "import-add");
    }
    ctx.counts.importsAdded++;
  }

  // ---- drop torch names the migration made unused ----
  for (const decl of torch?.declarations ?? []) {
    const specifiers = decl.getNamedImports();
    if (specifiers.length === 0) continue;
    const dropped = specifiers.filter((s) => {
      const binding = (s.getAliasNode() ?? s.getNameNode()) as Identifier;
      const uses = analysis.references.usesOf(binding);
      return uses.length > 0 && uses.every((u) => edits.covers(u.getStart(), u.getEnd()));
    });
    if (dropped.length === 0) continue;
    ctx.counts.importsRemoved += dropped.length;
    ctx.notes.push(`import of ${dropped.map((s) => s.getText()).join(", ")} from ${decl.getModuleSpecifierValue()} removed (no longer used)`);
    const kept = specifiers.filter((s) => !dropped.includes(s));
    if (kept.length === 0 && !decl.getDefaultImport() && !decl.getNamespaceImport()) {
      const r = statementRemovalRange(decl, analysis.text);
      edits.delete(r.start, r.end, "import-remove");
      continue;
    }
    const namedImports = decl.getImportClause()!.getNamedBindings()!;
    if (!Node.isNamedImports(namedImports)) continue;
    edits.replace(namedImports.getStart(), namedImports.getEnd(), `{ ${kept.map((s) => s.getText()).join(", ")} }`, "import-remove");
  }
}
