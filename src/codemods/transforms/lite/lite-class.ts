/**
 * Moves the training code into `class Lite extends LightningLite { override async run(args) {...} }`
 * and turns the entry call into `await new Lite({...}).run({...})`. (`override`: `run` is
 * abstract in LightningLite, and `noImplicitOverride` projects require the keyword.)
 *
 * Nothing is moved as text: the function's header becomes the class header plus `run`, a `}`
 * closes the class after the body, and the body stays where it is, so every other edit inside
 * it still applies. The parameter list (and its types) is the user's, untouched.
 *
 *   async function main(args: Args) {        class Lite extends LightningLite {
 *     ...                              →       override async run(args: Args) {
 *   }                                              ...
 *                                                }
 *   main({ epochs: 2 });                       }
 *                                              await new Lite({ ... }).run({ epochs: 2 });
 *
 * A script without a main function gets its top-level training statements wrapped the same way.
 */
import type { Identifier, IfStatement, VariableStatement } from "ts-morph";
import type { LocalFunction } from "../../analysis/types.ts";
import { MigrationError, positionAt } from "../../errors.ts";
import { Node, SyntaxKind } from "../../morph.ts";
import type { TransformContext } from "../context.ts";
import { endOfLineAfter, lineStartOf, newlineOf } from "../shared/ranges.ts";
import { LITE_TYPE } from "./lite-access.ts";

/** Constructor options of the generated `new Lite(...)`: Lightning's defaults, spelled out to edit. */
export const LITE_OPTIONS = `{ accelerator: "auto", devices: 1, precision: "32-true" }`;

export function wrapInLiteClass(ctx: TransformContext, className: string): void {
  const entry = ctx.analysis.entry!;
  if (entry.kind === "function") wrapFunction(ctx, entry.fn, className);
  else wrapStatements(ctx, className);
}

function header(className: string, exported: boolean, isAsync: boolean): string {
  return `${exported ? "export " : ""}class ${className} extends ${LITE_TYPE} {\noverride ${isAsync ? "async " : ""}run`;
}

function wrapFunction(ctx: TransformContext, fn: LocalFunction, className: string): void {
  const { edits, analysis } = ctx;
  const text = analysis.text;
  const unsupported = (reason: string, at: Node): never => {
    throw new MigrationError(`unsupported: ${reason}`, positionAt(text, at.getStart()));
  };
  for (const ref of fn.otherReferences) {
    unsupported(`${fn.name} is used at line ${ctx.lineOf(ref.getStart())} besides being called; it becomes ${className}.run()`, ref);
  }
  const topLevelCalls = new Set(analysis.entry?.kind === "function" ? analysis.entry.calls : []);
  for (const call of fn.calls) {
    if (!topLevelCalls.has(call)) {
      unsupported(`${fn.name} is also called from inside a function (line ${ctx.lineOf(call.getStart())}); it becomes ${className}.run()`, call);
    }
  }
  const node = fn.node;
  if (!Node.isArrowFunction(node) && node.isGenerator()) unsupported(`${fn.name} is a generator function`, node);
  const body = node.getBody();
  if (!body || !Node.isBlock(body)) unsupported(`${fn.name} needs a block body { ... } to become run()`, node);
  const open = node.getFirstChildByKind(SyntaxKind.OpenParenToken);
  const typeParams = node.getFirstChildByKind(SyntaxKind.LessThanToken);
  const isAsync = node.isAsync();

  if (Node.isFunctionDeclaration(node)) {
    if (node.isDefaultExport()) unsupported(`${fn.name} is a default export`, node);
    const nameEnd = node.getNameNode()!.getEnd();
    edits.replace(node.getStart(), nameEnd, header(className, node.isExported(), isAsync), "lite-class");
    edits.insert(node.getEnd(), "\n}", "lite-class");
  } else {
    const statement = fn.statement;
    if (!Node.isVariableStatement(statement) || statement.getDeclarations().length !== 1) {
      unsupported(`${fn.name} must be declared on its own (\`const ${fn.name} = async (...) => {...}\`)`, statement);
    }
    const exported = (statement as VariableStatement).isExported();
    const paramsStart = typeParams?.getStart() ?? open?.getStart() ?? node.getParameters()[0]!.getStart();
    edits.replace(statement.getStart(), paramsStart, header(className, exported, isAsync) + (open || typeParams ? "" : "("), "lite-class");
    if (!open && !typeParams) edits.insert(node.getParameters()[0]!.getEnd(), ")", "lite-class");
    if (Node.isArrowFunction(node)) {
      const arrow = node.getEqualsGreaterThan();
      edits.delete(arrow.getStart(), arrow.getEnd(), "lite-class");
    }
    edits.replace(body!.getEnd(), statement.getEnd(), "\n}", "lite-class");
  }
  ctx.notes.push(`${fn.name}() (line ${ctx.lineOf(node.getStart())}) → ${className}.run(), class ${className} extends ${LITE_TYPE}`);

  const calls = analysis.entry?.kind === "function" ? analysis.entry.calls : [];
  for (const call of calls) {
    const callee = call.getExpression();
    edits.replace(callee.getStart(), callee.getEnd(), `new ${className}(${LITE_OPTIONS}).run`, "entry-call");
    let parent = call.getParent();
    while (parent && Node.isParenthesizedExpression(parent)) parent = parent.getParent();
    // (CommonJS has no top-level await: there the call stays a statement, as main(...) was.)
    const topLevel = !call.getFirstAncestor((a) => Node.isFunctionDeclaration(a) || Node.isFunctionExpression(a) || Node.isArrowFunction(a) || Node.isMethodDeclaration(a));
    if (parent && Node.isExpressionStatement(parent) && (ctx.topLevelAwait || !topLevel)) edits.insert(call.getStart(), "await ", "entry-call");
    // Called inside a function (main() parses arguments, then calls the training function):
    // that function awaits run(), so it must be async.
    const caller = call.getFirstAncestor(
      (a) => Node.isFunctionDeclaration(a) || Node.isFunctionExpression(a) || Node.isArrowFunction(a) || Node.isMethodDeclaration(a),
    );
    if (caller && (Node.isFunctionDeclaration(caller) || Node.isFunctionExpression(caller) || Node.isArrowFunction(caller) || Node.isMethodDeclaration(caller)) && !caller.isAsync()) {
      edits.insert(caller.getStart(), "async ", "entry-call");
      const returnType = caller.getReturnTypeNode();
      if (returnType?.getText() === "void") edits.replace(returnType.getStart(), returnType.getEnd(), "Promise<void>", "entry-call");
    }
    ctx.notes.push(`${fn.name}(...) call (line ${ctx.lineOf(call.getStart())}) → await new ${className}(...).run(...)`);
  }
}

function wrapStatements(ctx: TransformContext, className: string): void {
  const { edits, analysis } = ctx;
  const entry = analysis.entry;
  if (entry?.kind !== "script") return;
  const text = analysis.text;
  const nl = newlineOf(text);
  const statements = entry.statements;
  const first = statements[0]!;
  const last = statements[statements.length - 1]!;
  const start = first.getStart();
  const end = last.getEnd();

  // Names declared in the wrapped statements become locals of run(): nothing outside may use them.
  for (const s of statements) {
    if (Node.isExportDeclaration(s) || Node.isExportAssignment(s) || (Node.isVariableStatement(s) && s.isExported())) {
      throw new MigrationError("unsupported: an export inside the training code", positionAt(text, s.getStart()));
    }
    const names = Node.isVariableStatement(s)
      ? s.getDeclarations().flatMap((d) => bindingIdentifiers(d.getNameNode()))
      : Node.isFunctionDeclaration(s) || Node.isClassDeclaration(s)
        ? [s.getNameNode()].filter((n): n is Identifier => n !== undefined)
        : [];
    for (const name of names) {
      const outside = analysis.references.usesOf(name).find((u) => u.getStart() < start || u.getEnd() > end);
      if (outside) {
        throw new MigrationError(
          `unsupported: ${name.getText()} is declared in the training code (line ${ctx.lineOf(name.getStart())}) but used outside it; ` +
            `put the training code in a main() function first`,
          positionAt(text, outside.getStart()),
        );
      }
    }
  }
  const guard = mainGuard(statements);
  if (guard) {
    // `if (import.meta.url === ...) { ...training... }`: the body becomes run(), the guard stays
    // at top level around the run call, as `if __name__ == "__main__": Lite(...).run()`.
    const block = guard.getThenStatement();
    const open = block.getFirstChildByKindOrThrow(SyntaxKind.OpenBraceToken);
    const close = block.getLastChildByKindOrThrow(SyntaxKind.CloseBraceToken);
    edits.replace(guard.getStart(), open.getEnd(), `class ${className} extends ${LITE_TYPE} {${nl}override async run() {`, "lite-class");
    edits.replace(
      close.getStart(),
      close.getEnd(),
      `}${nl}}${nl}${nl}if (${guard.getExpression().getText()}) {${nl}${awaitAtTopLevel(ctx)}new ${className}(${LITE_OPTIONS}).run();${nl}}`,
      "lite-class",
    );
    ctx.notes.push(
      `training code under the main guard (lines ${ctx.lineOf(start)}–${ctx.lineOf(end)}) → ${className}.run(), run by await new ${className}(...).run() under the same guard`,
    );
    return;
  }
  edits.insert(lineStartOf(start, text), `class ${className} extends ${LITE_TYPE} {${nl}override async run() {${nl}`, "lite-class");
  edits.insert(endOfLineAfter(end, text), `${nl}}${nl}}${nl}${nl}${awaitAtTopLevel(ctx)}new ${className}(${LITE_OPTIONS}).run();`, "lite-class");
  ctx.notes.push(
    `top-level training code (lines ${ctx.lineOf(start)}–${ctx.lineOf(end)}) → ${className}.run(), run by await new ${className}(...).run()`,
  );
}

/** `await ` where the script may await at its top level; nothing in CommonJS (the run's promise floats, as main()'s did). */
function awaitAtTopLevel(ctx: TransformContext): string {
  return ctx.topLevelAwait ? "await " : "";
}

/**
 * The declarations among a top-level script's wrapped statements that may move above `class
 * Lite` (`candidates`), and those of them that stay in run() (`stays`): they use what run()
 * declares, directly or through another declaration that stays (uses the edits remove aside).
 * Asked by hoistDeclarations and by lite-access.ts (a callback that stays in run() reaches the
 * instance through `const lite = this`).
 */
export function declarationsInRun(ctx: TransformContext): { candidates: Node[]; stays: Set<Node> } {
  const { edits, analysis } = ctx;
  const entry = analysis.entry;
  if (entry?.kind !== "script") return { candidates: [], stays: new Set() };
  const statements = entry.statements;
  const isDeclaration = (s: Node) =>
    Node.isClassDeclaration(s) ||
    Node.isFunctionDeclaration(s) ||
    Node.isInterfaceDeclaration(s) ||
    Node.isTypeAliasDeclaration(s) ||
    Node.isEnumDeclaration(s);
  const candidates: Node[] = statements.filter((s, i) => i > 0 && i < statements.length - 1 && isDeclaration(s));
  // Names that live in run(): the wrapped variables, then the declarations that must stay.
  const runNames: Identifier[] = statements.flatMap((s) =>
    Node.isVariableStatement(s) ? s.getDeclarations().flatMap((d) => bindingIdentifiers(d.getNameNode())) : [],
  );
  const inside = (n: Node, d: Node) => n.getStart() >= d.getStart() && n.getEnd() <= d.getEnd();
  const stays = new Set<Node>();
  for (let changed = true; changed; ) {
    changed = false;
    for (const d of candidates) {
      if (stays.has(d)) continue;
      const usesRunName = runNames.some((name) =>
        analysis.references.usesOf(name).some((u) => inside(u, d) && !edits.removes(u.getStart(), u.getEnd())),
      );
      if (usesRunName) {
        stays.add(d);
        const name = (d as Node & { getNameNode?: () => Node | undefined }).getNameNode?.();
        if (name && Node.isIdentifier(name)) runNames.push(name);
        changed = true;
      }
    }
  }
  return { candidates, stays };
}

/**
 * A top-level script: the class and function declarations among the wrapped statements stay at
 * top level (moved above `class Lite`, in their order, with their comments), unless they use
 * something run() declares (a callback that reads `model`): those stay inside run().
 * Runs last, once every edit inside them is known; each is moved with its edits applied.
 */
export function hoistDeclarations(ctx: TransformContext): void {
  const { edits, analysis } = ctx;
  const entry = analysis.entry;
  if (entry?.kind !== "script" || mainGuard(entry.statements)) return;
  const text = analysis.text;
  const nl = newlineOf(text);
  const statements = entry.statements;
  const { candidates, stays } = declarationsInRun(ctx);
  if (candidates.length === 0) return;
  const ranges = candidates
    .filter((d) => !stays.has(d))
    .map((d) => {
      const comments = d.getLeadingCommentRanges();
      const start = lineStartOf(comments.length > 0 ? comments[0]!.getPos() : d.getStart(), text);
      let end = endOfLineAfter(d.getEnd(), text);
      if (text.startsWith(nl, end)) end += nl.length;
      return { d, start, end };
    })
    // An insertion exactly at a boundary would be both moved and kept: leave such a declaration in run().
    .filter(({ start, end }) => !edits.edits.some((e) => e.start === e.end && (e.start === start || e.start === end)));
  if (ranges.length === 0) return;
  const moved = ranges.map(({ start, end }) => edits.render(start, end).replace(/\s*$/, "")).join(nl + nl);
  for (const { start, end } of ranges) edits.replaceMoved(start, end, "", "lite-hoist");
  edits.insert(lineStartOf(statements[0]!.getStart(), text), `${nl}${moved}${nl}${nl}`, "lite-hoist", -1);
  ctx.notes.push(`${ranges.length} declaration(s) among the training code stay at top level, above class Lite`);
}

/** The entry is one `if (import.meta.url === ...) { ... }` (Python's `if __name__ == "__main__":`). */
export function mainGuard(statements: Node[]): IfStatement | null {
  if (statements.length !== 1) return null;
  const s = statements[0]!;
  if (!Node.isIfStatement(s) || s.getElseStatement() || !Node.isBlock(s.getThenStatement())) return null;
  return /\bimport\.meta\b|\brequire\.main\b|process\.argv/.test(s.getExpression().getText()) ? s : null;
}

function bindingIdentifiers(name: Node): Identifier[] {
  if (Node.isIdentifier(name)) return [name];
  if (Node.isObjectBindingPattern(name) || Node.isArrayBindingPattern(name)) {
    return name.getElements().flatMap((el) => (Node.isBindingElement(el) ? bindingIdentifiers(el.getNameNode()) : []));
  }
  return [];
}
