/**
 * The table `trainer.validate()` / `trainer.test()` print (Lightning's
 * `_EvaluationLoop._print_results`, its plain-text form):
 *
 *   ────────────────────────────────────────────────────────────────────────
 *          Test metric             DataLoader 0
 *   ────────────────────────────────────────────────────────────────────────
 *           test_acc            0.8399999737739563
 *   ────────────────────────────────────────────────────────────────────────
 *
 * Values are printed as Python prints a float, so the table reads the same as Lightning's.
 */
import { pyNumberRepr } from "../utilities/python_format.ts";

export function formatResults(results: ReadonlyArray<Record<string, number>>, stage: string, termSize?: number): string {
  // Drop the dataloader suffix: the column says which dataloader it is.
  const cleaned = results.map((r) => Object.fromEntries(Object.entries(r).map(([k, v]) => [k.split("/dataloader_idx_")[0], v])));
  const names = [...new Set(cleaned.flatMap((r) => Object.keys(r)))].sort(pyCompare);
  if (names.length === 0) return "";
  const headers = cleaned.map((_, i) => `DataLoader ${i}`);
  const term = termSize ?? (process.stdout.columns || 120);
  const longest = (xs: string[]) => xs.reduce((m, s) => Math.max(m, s.length), 0);
  const maxLength = Math.floor(Math.min(Math.max(longest(names), longest(headers), 25), term / 2));
  const rows = names.map((n) => cleaned.map((r) => (n in r ? pyNumberRepr(r[n]) : " ")));
  const numCols = Math.max(1, Math.floor((term - maxLength) / maxLength));
  const bar = "─".repeat(term);
  const half = Math.floor(term / 2);
  const center = (s: string) => {
    if (s.length >= maxLength) return s;
    const total = maxLength - s.length;
    // Python's `^` centering puts the odd space on the right.
    const left = Math.floor(total / 2);
    return " ".repeat(left) + s + " ".repeat(total - left);
  };
  const format = (cells: string[]) => cells.map(center).join("").trimEnd();
  const out: string[] = [];
  for (let i = 0; i < headers.length; i += numCols) {
    const tableHeaders = [capitalize(`${stage} metric`), ...headers.slice(i, i + numCols)];
    const tableRows = rows.map((r) => r.slice(i, i + numCols));
    const lines = [bar, format(tableHeaders), bar];
    names.forEach((metric, j) => {
      let m = metric;
      if (m.length > half) {
        while (m.length > half) {
          lines.push(format([m.slice(0, half), ...tableRows[j]]));
          m = m.slice(half);
        }
        lines.push(format([m, " "]));
      } else {
        lines.push(format([m, ...tableRows[j]]));
      }
    });
    lines.push(bar);
    out.push(lines.join("\n"));
  }
  return out.join("\n") + "\n";
}

/** Python's `str.capitalize`: first letter upper, the rest lower. */
function capitalize(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1).toLowerCase();
}

/** Python's `sorted()` order for ASCII names (code-point order). */
function pyCompare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
