/**
 * One progress bar (what a `tqdm` instance is to Lightning's TQDMProgressBar): a description,
 * a count out of a total, the time since it (re)started, and a postfix of metrics. The bar
 * holds state only; a `BarRenderer` decides what reaches the output: a redrawn terminal line
 * (terminal_renderer.ts) or occasional plain lines for logs (line_renderer.ts).
 */
import { formatMeter, formatPostfix, type LineStyle, type PostfixValue } from "./tqdm_format.ts";

/** Where bars are shown. Every call is synchronous: training loops may never yield to the event loop. */
export interface BarRenderer {
  /** A new bar to show (below the open ones). */
  open(bar: Bar): void;
  /** The bar's state changed; `force` draws even if the last draw was moments ago. */
  refresh(bar: Bar, force: boolean): void;
  /** The bar is about to start over (a new epoch on the same bar). */
  reset(bar: Bar): void;
  /** The bar reached the end of a cycle (an epoch): its final state is known. */
  finish(bar: Bar): void;
  /** The bar is done: keep its last line (`bar.leave`) or remove it. */
  close(bar: Bar): void;
  /** Prints a message without breaking the bars. */
  write(text: string): void;
  /** Releases the output (timers, cursor state) once no bar is open. */
  shutdown(): void;
}

export interface BarOptions {
  desc?: string;
  total?: number | null;
  /** Keep the final line when closed (tqdm's `leave`). */
  leave: boolean;
  /** Draw nothing (tqdm's `disable`). */
  disable?: boolean;
  /**
   * In plain-line output: report progress (every ~10%, and the final line) when true; only
   * the occasional "still running" line for long phases when false (a validation run inside
   * fit, whose results end up on the training line anyway).
   */
  reportLines?: boolean;
}

const now = (): number => performance.now() / 1000;

export class Bar {
  desc: string;
  n = 0;
  total: number | null;
  postfix = "";
  readonly leave: boolean;
  readonly disable: boolean;
  readonly reportLines: boolean;
  /** When the current cycle started (seconds, monotonic). */
  startTime = now();
  closed = false;
  /** Closed without keeping a line, whatever `leave` says (a bar replaced before it showed anything). */
  discarded = false;

  constructor(
    private readonly renderer: BarRenderer | null,
    options: BarOptions,
  ) {
    this.desc = options.desc ?? "";
    this.total = options.total ?? null;
    this.leave = options.leave;
    this.disable = options.disable ?? renderer === null;
    this.reportLines = options.reportLines ?? true;
    if (!this.disable) this.renderer?.open(this);
  }

  get elapsedSeconds(): number {
    return now() - this.startTime;
  }

  /** Starts over: count 0, new total, clock restarted (tqdm's `reset`). */
  reset(total: number | null = this.total): void {
    if (!this.disable) this.renderer?.reset(this);
    this.n = 0;
    this.total = total;
    this.startTime = now();
    if (!this.disable) this.renderer?.refresh(this, true);
  }

  setDescription(desc: string): void {
    this.desc = desc;
  }

  setPostfix(items: Record<string, PostfixValue>): void {
    this.postfix = formatPostfix(items);
    if (!this.disable) this.renderer?.refresh(this, false);
  }

  /** Sets the count and draws (Lightning's `_update_n`). */
  update(n: number): void {
    if (this.disable) return;
    this.n = n;
    this.renderer?.refresh(this, this.total !== null && n >= this.total);
  }

  /** The end of a cycle: the line now shows its final numbers. */
  finish(): void {
    if (!this.disable) this.renderer?.finish(this);
  }

  /** Closes the bar and removes its line even if `leave` is set. */
  discard(): void {
    this.discarded = true;
    this.close();
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (!this.disable) this.renderer?.close(this);
  }

  /** The line for a terminal `width` columns wide, or for a log (`width` null: no bar graphic). */
  render(width: number | null, style?: LineStyle): string {
    return formatMeter(
      { desc: this.desc, n: this.n, total: this.total, elapsedSeconds: this.elapsedSeconds, postfix: this.postfix },
      width,
      style,
    );
  }
}
