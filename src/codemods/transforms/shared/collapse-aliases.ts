/**
 * Once `.to(device)` is stripped, `const xb = x.to(device);` is a bare alias `const xb = x;`.
 * Where the aliased name is a loop binding (or a `const` just above) read nowhere else, the
 * binding takes the alias's name and the alias goes, which is what a person would write:
 *
 *   for (const [x, y] of loader) {          for (const [inputs, targets] of loader) {
 *     const inputs = x.to(device);     →      ...
 *     const targets = y.to(device);
 */
import { Node, VariableDeclarationKind, unwrap } from "../../morph.ts";
import type { VariableDeclaration } from "ts-morph";
import type { DeviceMove } from "../../analysis/types.ts";
import type { TransformContext } from "../context.ts";
import { statementRemovalRange } from "./ranges.ts";

export function collapseDeviceAliases(ctx: TransformContext): void {
  const { analysis } = ctx;
  const moveByCall = new Map(analysis.deviceMoves.map((m) => [m.call as Node, m]));
  const seen = new Set<VariableDeclaration>();
  for (const move of analysis.deviceMoves) {
    const init = aliasInitializer(move, moveByCall);
    if (!init) continue;
    const decl = init.getParent();
    if (!decl || !Node.isVariableDeclaration(decl) || seen.has(decl)) continue;
    seen.add(decl);
    collapse(decl, ctx, moveByCall);
  }
}

/** The initializer a move is the outermost call of, when it is one. */
function aliasInitializer(move: DeviceMove, moveByCall: Map<Node, DeviceMove>): Node | null {
  let top: Node = move.call;
  for (;;) {
    const access = top.getParent();
    const call = access?.getParent();
    if (access && Node.isPropertyAccessExpression(access) && call && moveByCall.has(call)) top = call;
    else break;
  }
  while (top.getParent() && Node.isParenthesizedExpression(top.getParentOrThrow())) top = top.getParentOrThrow();
  const parent = top.getParent();
  return parent && Node.isVariableDeclaration(parent) && parent.getInitializer() === top ? top : null;
}

function collapse(decl: VariableDeclaration, ctx: TransformContext, moveByCall: Map<Node, DeviceMove>): void {
  const { analysis, edits } = ctx;
  const refs = analysis.references;
  const aliasName = decl.getNameNode();
  if (!Node.isIdentifier(aliasName) || decl.getTypeNode() || decl.hasExclamationToken()) return;
  const statement = decl.getVariableStatement();
  if (!statement || statement.isExported() || statement.getDeclarations().length !== 1) return;
  if (statement.getDeclarationKind() !== VariableDeclarationKind.Const) return;
  const block = statement.getParent();
  if (!Node.isBlock(block)) return;

  // Every move of the chain must have been stripped, leaving a bare identifier.
  let base: Node = unwrap(decl.getInitializerOrThrow());
  while (Node.isCallExpression(base) && moveByCall.has(base)) {
    const m = moveByCall.get(base)!;
    if (!m.recognized || !edits.covers(m.receiver.getEnd(), m.call.getEnd())) return;
    base = unwrap(m.receiver);
  }
  if (!Node.isIdentifier(base)) return;
  const uses = refs.usesOf(base);
  if (uses.length !== 1 || uses[0] !== base) return;
  const source = refs.declarationOf(base);
  if (!source) return;
  const sourceName = (source as Node & { getNameNode?: () => Node }).getNameNode?.();
  if (!sourceName || !Node.isIdentifier(sourceName)) return;

  // Where the aliased binding is declared: the head of the loop whose body holds the alias, or
  // an earlier `const` of the same block.
  const list = source.getFirstAncestor((a) => Node.isVariableDeclarationList(a));
  if (!list || !Node.isVariableDeclarationList(list) || list.getDeclarationKind() !== VariableDeclarationKind.Const) return;
  const head = list.getParent();
  if (Node.isForOfStatement(head)) {
    if (head.getStatement() !== block) return;
    // `for (const [xb] of xb)` would read the binding in its own TDZ.
    const iterated = head.getExpression();
    if (iterated.getDescendants().concat([iterated]).some((n) => Node.isIdentifier(n) && n.getText() === aliasName.getText())) return;
  } else if (Node.isVariableStatement(head)) {
    if (head.getParent() !== block || head.getStart() > statement.getStart()) return;
  } else {
    return;
  }

  const range = statementRemovalRange(statement, analysis.text);
  edits.replaceSuperseding(
    range.start,
    range.end,
    "",
    "device-alias",
    ["device-move", "device-move-statement"],
  );
  const parent = sourceName.getParent();
  const shorthand = Node.isBindingElement(parent) && parent.getPropertyNameNode() === undefined && Node.isObjectBindingPattern(parent.getParent());
  edits.replace(
    sourceName.getStart(),
    sourceName.getEnd(),
    shorthand ? `${sourceName.getText()}: ${aliasName.getText()}` : aliasName.getText(),
    "device-alias-rename",
  );
  ctx.counts.aliasesCollapsed++;
}
