/**
 * What the codemod leaves to a human. Each item becomes one `// TODO(lit-migrate): <reason>`
 * line above the statement it is about (never two for the same statement and reason, and none
 * when the line above already says so, so a re-run adds nothing) and one summary entry.
 */
import { Node, SyntaxKind } from "../../morph.ts";
import type { EditSet } from "../../edits.ts";
import { indentationAt, lineStartOf, newlineOf } from "./ranges.ts";

export const TODO_PREFIX = "// TODO(lit-migrate):";

export interface TodoItem {
  /** Offset of the code it is about, in the original text. */
  offset: number;
  reason: string;
}

export class TodoList {
  readonly items: TodoItem[] = [];
  /** Reasons by statement start, with the statement's end. */
  private readonly markers = new Map<number, { end: number; reasons: Set<string> }>();

  add(node: Node, reason: string): void {
    const statement = enclosingListStatement(node);
    const anchor = statement.getStart();
    const entry = this.markers.get(anchor) ?? { end: statement.getEnd(), reasons: new Set<string>() };
    if (entry.reasons.has(reason)) return;
    entry.reasons.add(reason);
    this.markers.set(anchor, entry);
    this.items.push({ offset: node.getStart(), reason });
  }

  /** Inserts the markers (skipping any already present in the text). */
  emit(edits: EditSet): void {
    const text = edits.original;
    const nl = newlineOf(text);
    for (const [anchor, { end, reasons }] of this.markers) {
      // No marker for a statement the migration deletes (an edit inside it is fine).
      if (edits.removes(anchor, end)) continue;
      const lineStart = lineStartOf(anchor, text);
      const indent = indentationAt(anchor, text);
      const above = precedingLines(text, lineStart);
      for (const reason of reasons) {
        const marker = `${TODO_PREFIX} ${reason}`;
        if (above.includes(marker)) continue;
        edits.insert(lineStart, `${indent}${marker}${nl}`, "todo", -1);
      }
    }
  }
}

/** The statement (in a block or at top level) or class member that holds `node`; markers go above it. */
function enclosingListStatement(node: Node): Node {
  let n: Node = node;
  for (let p = n.getParent(); p; n = p, p = p.getParent()) {
    const k = p.getKind();
    if (
      k === SyntaxKind.Block ||
      k === SyntaxKind.SourceFile ||
      k === SyntaxKind.CaseClause ||
      k === SyntaxKind.DefaultClause ||
      k === SyntaxKind.ModuleBlock ||
      Node.isClassDeclaration(p) ||
      Node.isClassExpression(p)
    ) {
      return n;
    }
  }
  return n;
}

/** The comment lines right above `lineStart`, trimmed (for "is the marker already there?"). */
function precedingLines(text: string, lineStart: number): string[] {
  const out: string[] = [];
  let end = lineStart - 1;
  while (end > 0) {
    const start = text.lastIndexOf("\n", end - 1) + 1;
    const line = text.slice(start, end).trim();
    if (!line.startsWith("//")) break;
    out.push(line);
    end = start - 1;
  }
  return out;
}
