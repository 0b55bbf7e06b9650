/**
 * Bars for logs and pipes (stdout not a TTY: CI, `| tee`, a job scheduler's log file), where a
 * redrawn line would become thousands of lines. A bar prints a plain line when it passes each
 * further tenth of its total, when `intervalSeconds` went by without a line (long phases, or an
 * unknown total), and once with its final numbers at the end of a cycle — never a line per
 * update: an epoch of 1000 batches gives about ten lines.
 */
import type { Bar, BarRenderer } from "./bar.ts";
import type { TerminalStream } from "./terminal_renderer.ts";

interface LineState {
  /** Tenths of the total already reported. */
  decile: number;
  lastPrint: number;
  /** The final line of this cycle was printed. */
  final: boolean;
}

const now = (): number => performance.now() / 1000;

export class LineRenderer implements BarRenderer {
  private readonly state = new Map<Bar, LineState>();

  constructor(
    private readonly stream: TerminalStream,
    private readonly intervalSeconds = 30,
  ) {}

  private fresh(): LineState {
    return { decile: 0, lastPrint: now(), final: false };
  }

  private print(bar: Bar, s: LineState): void {
    this.stream.write(`${bar.render(null)}\n`);
    s.lastPrint = now();
  }

  open(bar: Bar): void {
    this.state.set(bar, this.fresh());
  }

  refresh(bar: Bar, _force: boolean): void {
    const s = this.state.get(bar);
    if (s === undefined || bar.n === 0 || s.final) return;
    const total = bar.total;
    if (total !== null && total > 0) {
      // The 100% line waits for the end of the cycle, when the epoch's metrics are in.
      if (bar.n >= total) return;
      const decile = Math.floor((10 * bar.n) / total);
      if (bar.reportLines && decile > s.decile) {
        s.decile = decile;
        this.print(bar, s);
        return;
      }
    }
    if (now() - s.lastPrint >= this.intervalSeconds) this.print(bar, s);
  }

  reset(bar: Bar): void {
    const s = this.state.get(bar);
    if (s === undefined) return;
    // A cycle that never got its `finish` (stopped early) still reports where it ended.
    if (bar.reportLines && bar.n > 0 && !s.final) this.print(bar, s);
    this.state.set(bar, this.fresh());
  }

  finish(bar: Bar): void {
    const s = this.state.get(bar);
    if (s === undefined || s.final) return;
    if (bar.reportLines && bar.n > 0) this.print(bar, s);
    s.final = true;
  }

  close(bar: Bar): void {
    const s = this.state.get(bar);
    if (s === undefined) return;
    if (bar.leave && !bar.discarded && bar.reportLines && bar.n > 0 && !s.final) this.print(bar, s);
    this.state.delete(bar);
  }

  write(text: string): void {
    this.stream.write(`${text}\n`);
  }

  shutdown(): void {
    this.state.clear();
  }
}
