/**
 * Text ranges for removing code cleanly. Deleting exactly a statement's characters leaves its
 * indentation, its trailing comment and an empty line behind, which prettier keeps as a blank
 * line; these helpers widen a removal to whole lines and take the comments that belong to the
 * removed code with it.
 */
import { Node } from "../../morph.ts";

export interface Range {
  start: number;
  end: number;
}

/** Comments right above a removed statement go with it only when they talk about devices. */
const DEVICE_COMMENT = /device|cuda|gpu|cpu|\.to\(/i;

/** The range that removes `stmt` with its line(s), its trailing comment and a device comment above it. */
export function statementRemovalRange(stmt: Node, text: string): Range {
  let start = stmt.getStart();
  let end = stmt.getEnd();
  const lineStart = text.lastIndexOf("\n", start - 1) + 1;
  const ownsLineStart = /^[ \t]*$/.test(text.slice(lineStart, start));
  // Trailing `// comment` on the same line, then the newline.
  const rest = /^[ \t]*(\/\/[^\n]*|\/\*[^\n]*?\*\/[ \t]*)?/.exec(text.slice(end))!;
  const afterComment = end + rest[0].length;
  const ownsLineEnd = afterComment === text.length || text[afterComment] === "\n" || text.startsWith("\r\n", afterComment);
  if (ownsLineStart && ownsLineEnd) {
    start = lineStart;
    end = afterComment === text.length ? afterComment : afterComment + (text[afterComment] === "\r" ? 2 : 1);
    // Own-line comments directly above (no blank line between) that describe the device code.
    for (const c of [...stmt.getLeadingCommentRanges()].reverse()) {
      const cStart = c.getPos();
      const cLineStart = text.lastIndexOf("\n", cStart - 1) + 1;
      const between = text.slice(c.getEnd(), start);
      if (!/^[ \t]*\r?\n$/.test(between) || !/^[ \t]*$/.test(text.slice(cLineStart, cStart))) break;
      if (!DEVICE_COMMENT.test(c.getText())) break;
      start = cLineStart;
    }
  } else if (ownsLineEnd && rest[1]) {
    end = afterComment;
  }
  return { start, end };
}

/** End of the line `pos` is on, after a trailing comment: where to insert a statement after another. */
export function endOfLineAfter(pos: number, text: string): number {
  const rest = /^[ \t]*(\/\/[^\n]*|\/\*[^\n]*?\*\/[ \t]*)?/.exec(text.slice(pos))!;
  const after = pos + rest[0].length;
  if (after === text.length || text[after] === "\n" || text.startsWith("\r\n", after)) return after;
  return pos;
}

/** Leading whitespace of the line `pos` is on. */
export function indentationAt(pos: number, text: string): string {
  const lineStart = text.lastIndexOf("\n", pos - 1) + 1;
  return /^[ \t]*/.exec(text.slice(lineStart))![0];
}

export function lineStartOf(pos: number, text: string): number {
  return text.lastIndexOf("\n", pos - 1) + 1;
}

/** Newline style of the file, for inserted lines. */
export function newlineOf(text: string): string {
  return text.includes("\r\n") ? "\r\n" : "\n";
}

/** Start of a statement with its own-line comments above it. */
export function spanStart(s: Node, text: string): number {
  let start = s.getStart();
  const lineStart = text.lastIndexOf("\n", start - 1) + 1;
  if (!/^[ \t]*$/.test(text.slice(lineStart, start))) return start;
  start = lineStart;
  for (const c of [...s.getLeadingCommentRanges()].reverse()) {
    const cLineStart = text.lastIndexOf("\n", c.getPos() - 1) + 1;
    if (!/^[ \t]*$/.test(text.slice(cLineStart, c.getPos()))) break;
    start = cLineStart;
  }
  return start;
}
