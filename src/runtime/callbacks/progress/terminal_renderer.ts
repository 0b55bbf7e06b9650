/**
 * Bars on an interactive terminal: one row per open bar (the training bar, the validation bar
 * below it), redrawn in place, messages printed above them, and the final line of a bar with
 * `leave` kept on screen when it closes (tqdm's look).
 *
 * Drawing happens only when a bar changes (at most `fps` times a second, plus whenever a bar
 * completes or a message is printed), never from a timer: training loops may run synchronously
 * for a whole epoch, and a timer would hold the process open. Lines arrive already fitted to the
 * width, so nothing here cuts them by string length (which would cut colour codes), and the
 * terminal's line wrapping is never switched off (it would stay off if the process died).
 */
import readline from "node:readline";
import type { Bar, BarRenderer } from "./bar.ts";
import type { LineStyle } from "./tqdm_format.ts";

/**
 * The stream the bars go to: a TTY, or a stand-in with `write`, `isTTY` and `columns`. Structural
 * (not `NodeJS.WritableStream`) so that the published declarations need no `@types/node`.
 */
export interface TerminalStream {
  write(chunk: string): unknown;
  isTTY?: boolean;
  columns?: number;
}

export class TerminalRenderer implements BarRenderer {
  /** readline's cursor functions only write escape codes to it. */
  private get out(): NodeJS.WritableStream {
    return this.stream as unknown as NodeJS.WritableStream;
  }

  /** The open bars, top to bottom; null while none is on screen. */
  private bars: Bar[] | null = null;
  /** Messages (and lines of closed bars) to print above the bars at the next draw. */
  private pending: string[] = [];
  /** How many rows the cursor is below the first bar's row. */
  private rowsBelowTop = 0;
  private lastDraw = -Infinity;
  private readonly minInterval: number;

  constructor(
    private readonly stream: TerminalStream,
    private readonly style: LineStyle,
    fps = 10,
  ) {
    this.minInterval = 1 / fps;
  }

  private get width(): number {
    return this.stream.columns || 80;
  }

  private toTop(): void {
    readline.moveCursor(this.out, 0, -this.rowsBelowTop);
    readline.cursorTo(this.out, 0);
    this.rowsBelowTop = 0;
  }

  /** Prints the pending messages where the bars were, then every bar below them. */
  private repaint(bars: Bar[]): void {
    this.toTop();
    if (this.pending.length > 0) {
      readline.clearLine(this.out, 0);
      // Messages land on rows that held bars: each row is cleared before it is written over.
      for (const line of this.pending.join("\n").split("\n")) {
        readline.clearLine(this.out, 0);
        this.stream.write(`${line}\n`);
      }
      this.pending = [];
    }
    bars.forEach((bar, i) => {
      if (i > 0) {
        this.stream.write("\n");
        this.rowsBelowTop++;
      }
      readline.cursorTo(this.out, 0);
      this.stream.write(bar.render(this.width, this.style));
      readline.clearLine(this.out, 1);
    });
    // Rows below the last bar may hold a bar that has since closed.
    readline.clearScreenDown(this.out);
  }

  private draw(force: boolean): void {
    if (this.bars === null) return;
    const t = performance.now() / 1000;
    if (!force && t - this.lastDraw < this.minInterval) return;
    this.lastDraw = t;
    this.repaint(this.bars);
  }

  open(bar: Bar): void {
    (this.bars ??= []).push(bar);
    this.draw(true);
  }

  refresh(bar: Bar, force: boolean): void {
    if (this.bars?.includes(bar)) this.draw(force);
  }

  reset(_bar: Bar): void {}

  finish(bar: Bar): void {
    if (this.bars?.includes(bar)) this.draw(true);
  }

  close(bar: Bar): void {
    const i = this.bars?.indexOf(bar) ?? -1;
    if (this.bars === null || i < 0) return;
    if (bar.leave && !bar.discarded) this.pending.push(bar.render(this.width, this.style));
    this.bars.splice(i, 1);
    this.draw(true);
    if (this.bars.length === 0) this.shutdown();
  }

  write(text: string): void {
    if (this.bars === null) {
      this.stream.write(`${text}\n`);
      return;
    }
    this.pending.push(text);
    this.draw(true);
  }

  shutdown(): void {
    if (this.bars === null) return;
    // Bars still open (training interrupted): keep the ones meant to stay, as tqdm does on close.
    for (const bar of this.bars) if (bar.leave) this.pending.push(bar.render(this.width, this.style));
    this.repaint([]);
    this.toTop();
    readline.clearScreenDown(this.out);
    this.bars = null;
  }
}
