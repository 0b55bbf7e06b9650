/**
 * Text edits and the one splice that applies them.
 *
 * Transforms never mutate the syntax tree: each returns `{ start, end, text }` edits against the
 * original text, and all of them are applied in one pass at the end. Rewriting node by node
 * through ts-morph re-parses the file after every change (seconds on a 1,000-line script, see
 * FACTS.md); collecting spans and splicing once takes milliseconds. The price is that edits must
 * not overlap, so transforms edit the smallest span that expresses the change (delete the
 * `.to(device)` suffix rather than rewrite the whole call) and two edits that still collide are
 * a bug in the codemod, reported as an `InternalError`.
 */
import { InternalError, positionAt } from "./errors.ts";

/** Where an edit comes from; used in the overlap error and in the summary counts. */
export type EditTag = string;

export interface TextEdit {
  /** Offset of the first replaced character in the original text. */
  start: number;
  /** Offset after the last replaced character; equals `start` for an insertion. */
  end: number;
  text: string;
  tag: EditTag;
  /**
   * Order of insertions at one offset: lower first. TODO markers use -1 so that a marker
   * always lands before any code inserted at the start of the same line.
   */
  priority?: number;
}

/**
 * The edits of one migration. Besides collecting edits it answers "is this offset inside text
 * that goes away?", which later transforms need: a device variable can be deleted once every
 * reference to it lies inside a removed span, an import name once all its uses are rewritten.
 */
export class EditSet {
  private readonly list: TextEdit[] = [];
  /** Non-empty edits sorted by start, for `covers`; rebuilt after a change. */
  private sortedRanges: TextEdit[] | null = null;

  constructor(readonly original: string) {}

  get edits(): readonly TextEdit[] {
    return this.list;
  }

  insert(at: number, text: string, tag: EditTag, priority = 0): void {
    this.list.push({ start: at, end: at, text, tag, priority });
  }

  replace(start: number, end: number, text: string, tag: EditTag): void {
    if (end < start) throw new InternalError(`edit '${tag}' has end ${end} before start ${start}`);
    this.list.push({ start, end, text, tag });
    if (end > start) this.sortedRanges = null;
  }

  delete(start: number, end: number, tag: EditTag): void {
    this.replace(start, end, "", tag);
  }

  /**
   * Replaces [start, end) and drops the earlier edits inside it, which must carry one of
   * `supersedable` tags (removing a statement makes the edits within it moot; any other
   * collision is still a bug).
   */
  replaceSuperseding(start: number, end: number, text: string, tag: EditTag, supersedable: readonly EditTag[]): void {
    for (let i = this.list.length - 1; i >= 0; i--) {
      const e = this.list[i]!;
      if (e.start >= start && e.end <= end && !(e.start === e.end && (e.start === start || e.start === end))) {
        if (!supersedable.includes(e.tag)) {
          throw new InternalError(`edit '${tag}' [${start}, ${end}) would swallow edit '${e.tag}' [${e.start}, ${e.end})`);
        }
        this.list.splice(i, 1);
        this.sortedRanges = null;
      }
    }
    this.replace(start, end, text, tag);
  }

  /** True when the character range [start, end) lies inside text that a non-empty edit replaces. */
  covers(start: number, end = start + 1): boolean {
    // Edits never overlap, so only the last range starting at or before `start` can contain it.
    this.sortedRanges ??= this.list.filter((e) => e.end > e.start).sort((a, b) => a.start - b.start || b.end - a.end);
    const ranges = this.sortedRanges;
    let lo = 0;
    let hi = ranges.length - 1;
    let found = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (ranges[mid]!.start <= start) {
        found = mid;
        lo = mid + 1;
      } else {
        hi = mid - 1;
      }
    }
    return found >= 0 && end <= ranges[found]!.end;
  }

  /** True when [start, end) lies inside text that an edit deletes (replaces with nothing). */
  removes(start: number, end: number): boolean {
    return this.list.some((e) => e.end > e.start && e.text === "" && e.start <= start && end <= e.end);
  }

  /**
   * The text of [start, end) with the edits inside it applied (insertions at either end
   * included). `--to module` moves code into new methods: it renders each moved statement with
   * the edits already made inside it (a stripped device move, a rewritten reference, a TODO
   * marker) and then replaces the code it came from with `replaceMoved`. An edit that straddles
   * the range's boundary is a bug in the codemod.
   */
  render(start: number, end: number): string {
    const inside: TextEdit[] = [];
    for (const e of this.list) {
      if (e.start >= start && e.end <= end) inside.push({ ...e, start: e.start - start, end: e.end - start });
      else if (e.end > start && e.start < end) {
        throw new InternalError(`edit '${e.tag}' [${e.start}, ${e.end}) straddles the moved range [${start}, ${end})`);
      }
    }
    return applyEdits(this.original.slice(start, end), inside);
  }

  /**
   * Replaces [start, end) with `text` (code assembled from `render`ed pieces of it), dropping
   * every edit inside the range: their effect now lives in `text`. Insertions exactly at the
   * range's ends stay, before and after the replacement.
   */
  replaceMoved(start: number, end: number, text: string, tag: EditTag): void {
    for (let i = this.list.length - 1; i >= 0; i--) {
      const e = this.list[i]!;
      const isBoundaryInsertion = e.start === e.end && (e.start === start || e.start === end);
      if (e.start >= start && e.end <= end && !isBoundaryInsertion) {
        this.list.splice(i, 1);
      } else if (e.end > start && e.start < end && !isBoundaryInsertion) {
        throw new InternalError(`edit '${e.tag}' [${e.start}, ${e.end}) straddles the moved range [${start}, ${end})`);
      }
    }
    this.sortedRanges = null;
    this.replace(start, end, text, tag);
  }

  count(tag: EditTag): number {
    return this.list.filter((e) => e.tag === tag).length;
  }

  apply(): string {
    return applyEdits(this.original, this.list);
  }
}

/**
 * Applies non-overlapping edits in one splice. Insertions at the same offset keep their
 * priority, then their order of arrival; an insertion at the boundary of a replaced range is not
 * an overlap (it goes before the range when at its start, after it when at its end).
 */
export function applyEdits(text: string, edits: readonly TextEdit[]): string {
  const sorted = edits
    .map((e, seq) => ({ e, seq }))
    .sort(
      (a, b) =>
        a.e.start - b.e.start ||
        // insertions before a replacement that starts at the same offset
        Number(a.e.end > a.e.start) - Number(b.e.end > b.e.start) ||
        (a.e.priority ?? 0) - (b.e.priority ?? 0) ||
        a.seq - b.seq,
    )
    .map((x) => x.e);
  const out: string[] = [];
  let cursor = 0;
  let previous: TextEdit | null = null;
  for (const e of sorted) {
    if (e.start < cursor) {
      const p = positionAt(text, e.start);
      throw new InternalError(
        `overlapping edits at ${p.line}:${p.col}: '${previous?.tag}' [${previous?.start}, ${previous?.end}) ` +
          `and '${e.tag}' [${e.start}, ${e.end})`,
      );
    }
    if (e.start > text.length || e.end > text.length) {
      throw new InternalError(`edit '${e.tag}' [${e.start}, ${e.end}) lies outside the text (${text.length})`);
    }
    out.push(text.slice(cursor, e.start), e.text);
    cursor = e.end;
    previous = e;
  }
  out.push(text.slice(cursor));
  return out.join("");
}
