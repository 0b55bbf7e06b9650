/**
 * The removal plan shared by the device transforms.
 *
 * Device code is removed in layers that depend on each other: stripping the moves makes a
 * `device` variable unread, removing it makes the `if (cuda.isAvailable()) device = "cuda"`
 * around its assignment empty, removing a helper's `device` parameter drops the arguments that
 * read another variable... So the device transforms first plan their removals here, run to a
 * fixpoint asking `covers()`, and only then emit the outermost ranges as edits (a removed `if`
 * swallows the moves planned inside it, which would otherwise be overlapping edits).
 */
import type { Node } from "ts-morph";
import type { EditSet } from "../../../edits.ts";
import type { Range } from "../../shared/ranges.ts";

interface PlannedRange extends Range {
  text: string;
  tag: string;
}

export class RemovalPlan {
  private readonly ranges: PlannedRange[] = [];
  /** List elements (parameters, arguments, declarators) to remove, by list. */
  private readonly listRemovals = new Map<readonly Node[], Set<Node>>();
  private readonly listKeys = new Map<Node, readonly Node[]>();
  /** Character ranges of the removed list elements, for `covers`. */
  private readonly elementRanges: Range[] = [];
  /** All non-empty planned ranges by start, with the running maximum of their ends. */
  private index: { starts: number[]; maxEnds: number[] } | null = null;

  constructor(private readonly edits: EditSet) {}

  remove(range: Range, tag: string, replacement = ""): void {
    this.ranges.push({ ...range, text: replacement, tag });
    this.index = null;
  }

  /** Removes `element` from the comma-separated `list` (commas are worked out at emit time). */
  removeListElement(element: Node, list: readonly Node[]): void {
    // Lists from different getters are different arrays; key them by their first element.
    const key = this.listKeys.get(list[0]!) ?? list;
    this.listKeys.set(list[0]!, key);
    const set = this.listRemovals.get(key) ?? new Set<Node>();
    if (!set.has(element)) {
      this.elementRanges.push({ start: element.getStart(), end: element.getEnd() });
      this.index = null;
    }
    set.add(element);
    this.listRemovals.set(key, set);
  }

  isListElementRemoved(element: Node, list: readonly Node[]): boolean {
    const key = this.listKeys.get(list[0]!);
    return key !== undefined && (this.listRemovals.get(key)?.has(element) ?? false);
  }

  /** True when [start, end) is inside planned removals or existing edits. */
  covers(start: number, end: number): boolean {
    // Planned ranges nest (a removed `if` holds removed moves), so: among the ranges starting at
    // or before `start`, does the one reaching furthest reach `end`?
    if (!this.index) {
      const all = [...this.ranges.filter((r) => r.end > r.start), ...this.elementRanges].sort((a, b) => a.start - b.start);
      const maxEnds: number[] = [];
      all.forEach((r, i) => maxEnds.push(Math.max(r.end, i > 0 ? maxEnds[i - 1]! : -1)));
      this.index = { starts: all.map((r) => r.start), maxEnds };
    }
    const { starts, maxEnds } = this.index;
    let lo = 0;
    let hi = starts.length - 1;
    let found = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (starts[mid]! <= start) {
        found = mid;
        lo = mid + 1;
      } else {
        hi = mid - 1;
      }
    }
    if (found >= 0 && maxEnds[found]! >= end) return true;
    return this.edits.covers(start, end);
  }

  coversNode(node: Node): boolean {
    return this.covers(node.getStart(), node.getEnd());
  }

  /** Emits the outermost planned ranges as edits; returns the emitted ranges by tag. */
  emit(text: string): Map<string, Range[]> {
    const all: PlannedRange[] = [...this.ranges];
    for (const [list, removed] of this.listRemovals) {
      all.push(...listRanges(list, removed, text));
    }
    all.sort((a, b) => a.start - b.start || b.end - a.end);
    const emitted = new Map<string, Range[]>();
    let outer: PlannedRange | null = null;
    for (const r of all) {
      if (outer && r.start >= outer.start && r.end <= outer.end) continue;
      this.edits.replace(r.start, r.end, r.text, r.tag);
      const list = emitted.get(r.tag) ?? [];
      list.push(r);
      emitted.set(r.tag, list);
      if (!outer || r.end > outer.end) outer = r;
    }
    return emitted;
  }
}

/**
 * Ranges removing `removed` from `list` with the right commas: an element after a kept one
 * takes the comma before it; leading removed elements take the comma after them.
 */
function listRanges(list: readonly Node[], removed: Set<Node>, _text: string): PlannedRange[] {
  const out: PlannedRange[] = [];
  let keptBefore = false;
  list.forEach((el, i) => {
    if (!removed.has(el)) {
      keptBefore = true;
      return;
    }
    if (keptBefore) {
      out.push({ start: list[i - 1]!.getEnd(), end: el.getEnd(), text: "", tag: "list-element" });
    } else if (i + 1 < list.length) {
      out.push({ start: el.getStart(), end: list[i + 1]!.getStart(), text: "", tag: "list-element" });
    } else {
      out.push({ start: el.getStart(), end: el.getEnd(), text: "", tag: "list-element" });
    }
  });
  return out;
}
