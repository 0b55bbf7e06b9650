/**
 * Bars on an interactive terminal, drawn with cli-progress's `MultiBar`: one line per open bar
 * (the training bar, the validation bar below it), redrawn in place, messages printed above
 * them, and the final line of a bar with `leave` kept on screen when it closes (tqdm's look).
 *
 * Training loops may run synchronously for a whole epoch, so cli-progress's timer would never
 * fire: this renderer draws itself, at most `fps` times a second plus whenever a bar completes.
 * The timer cli-progress keeps for idle moments is unref'd, so it never holds the process open.
 */
import readline from "node:readline";
import cliProgress from "cli-progress";
import type { Bar, BarRenderer } from "./bar";
import type { LineStyle } from "./tqdm_format";

/** The stream the bars go to: a TTY (or a stand-in with `isTTY` and `columns`). */
export type TerminalStream = NodeJS.WritableStream & { isTTY?: boolean; columns?: number };

/**
 * cli-progress's terminal interface over `stream`. Unlike its own, it never changes the
 * terminal's line wrapping (left disabled if the process dies) and never cuts a line by
 * string length (which would cut colour codes): lines arrive already fitted to the width.
 */
class FittedTerminal {
  dy = 0;

  constructor(private readonly stream: TerminalStream) {}

  cursorSave(): void {
    this.stream.write("\x1B7");
  }
  cursorRestore(): void {
    this.stream.write("\x1B8");
  }
  cursor(enabled: boolean): void {
    this.stream.write(enabled ? "\x1B[?25h" : "\x1B[?25l");
  }
  cursorTo(x: number | null = null, y: number | null = null): void {
    readline.cursorTo(this.stream, x ?? 0, y ?? undefined);
  }
  cursorRelative(dx: number | null = null, dy: number | null = null): void {
    this.dy += dy ?? 0;
    readline.moveCursor(this.stream, dx ?? 0, dy ?? 0);
  }
  cursorRelativeReset(): void {
    readline.moveCursor(this.stream, 0, -this.dy);
    readline.cursorTo(this.stream, 0);
    this.dy = 0;
  }
  clearRight(): void {
    readline.clearLine(this.stream, 1);
  }
  clearLine(): void {
    readline.clearLine(this.stream, 0);
  }
  clearBottom(): void {
    readline.clearScreenDown(this.stream);
  }
  newline(): void {
    this.stream.write("\n");
    this.dy++;
  }
  write(s: string, rawWrite = false): void {
    if (!rawWrite) {
      this.stream.write(s);
      return;
    }
    // Logged messages land on rows that held bars: clear each row before writing over it.
    const lines = s.split("\n");
    const last = lines.pop() as string;
    for (const line of lines) {
      readline.clearLine(this.stream, 0);
      this.stream.write(`${line}\n`);
    }
    if (last) this.stream.write(last);
  }
  lineWrapping(_enabled: boolean): void {}
  isTTY(): boolean {
    return true;
  }
  getWidth(): number {
    return this.stream.columns || 80;
  }
}

export class TerminalRenderer implements BarRenderer {
  private multibar: cliProgress.MultiBar | null = null;
  private terminal: FittedTerminal | null = null;
  private readonly cliBars = new Map<Bar, cliProgress.SingleBar>();
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

  private ensure(): cliProgress.MultiBar {
    if (this.multibar !== null) return this.multibar;
    const terminal = new FittedTerminal(this.stream);
    const style = this.style;
    const options = {
      stream: this.stream,
      terminal,
      // Every draw repaints every row: rows move when messages are printed above them.
      forceRedraw: true,
      clearOnComplete: true,
      hideCursor: false,
      gracefulExit: false,
      format: (_o: cliProgress.Options, params: cliProgress.Params, payload: { bar: Bar }) => payload.bar.render(params.maxWidth, style),
    };
    const mb = new cliProgress.MultiBar(options as cliProgress.Options);
    // Rows below the last bar may hold a bar that has since closed: clear them after each draw.
    mb.on("redraw-post", () => terminal.clearBottom());
    mb.on("update-post", () => (mb as unknown as { timer?: NodeJS.Timeout | null }).timer?.unref?.());
    this.multibar = mb;
    this.terminal = terminal;
    return mb;
  }

  private draw(force: boolean): void {
    if (this.multibar === null) return;
    const t = performance.now() / 1000;
    if (!force && t - this.lastDraw < this.minInterval) return;
    this.lastDraw = t;
    this.multibar.update();
  }

  open(bar: Bar): void {
    const mb = this.ensure();
    this.cliBars.set(bar, mb.create(1, 0, { bar }));
    this.draw(true);
  }

  refresh(bar: Bar, force: boolean): void {
    if (this.cliBars.has(bar)) this.draw(force);
  }

  reset(_bar: Bar): void {}

  finish(bar: Bar): void {
    if (this.cliBars.has(bar)) this.draw(true);
  }

  close(bar: Bar): void {
    const cli = this.cliBars.get(bar);
    if (cli === undefined || this.multibar === null) return;
    if (bar.leave && !bar.discarded) this.multibar.log(`${bar.render(this.width, this.style)}\n`);
    // Out of the stack without `MultiBar.remove` (which leaves an empty row); the redraw clears below.
    const bars = (this.multibar as unknown as { bars: cliProgress.SingleBar[] }).bars;
    const i = bars.indexOf(cli);
    if (i >= 0) bars.splice(i, 1);
    this.cliBars.delete(bar);
    this.draw(true);
    if (this.cliBars.size === 0) this.shutdown();
  }

  write(text: string): void {
    if (this.multibar === null) {
      this.stream.write(`${text}\n`);
      return;
    }
    this.multibar.log(`${text}\n`);
    this.draw(true);
  }

  shutdown(): void {
    const mb = this.multibar;
    if (mb === null) return;
    // Bars still open (training interrupted): keep the ones meant to stay, as tqdm does on close.
    for (const bar of [...this.cliBars.keys()]) if (bar.leave) mb.log(`${bar.render(this.width, this.style)}\n`);
    (mb as unknown as { bars: cliProgress.SingleBar[] }).bars.length = 0;
    this.cliBars.clear();
    mb.update();
    mb.stop();
    this.multibar = null;
    this.terminal = null;
  }
}
