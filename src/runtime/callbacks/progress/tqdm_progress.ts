/**
 * `TQDMProgressBar` (Lightning 2.x's default progress bar): a bar per loop that looks like
 * tqdm's,
 *
 *   Epoch 1:  45%|████▌     | 90/200 [00:03<00:04, 25.10it/s, v_num=0, train_loss=0.512]
 *   Validation DataLoader 0:  60%|██████    | 12/20 [00:00<00:00, 80.31it/s]
 *
 * redrawn in place on a terminal (terminal_renderer.ts), and, when the output is not a
 * terminal (CI logs, pipes), a plain line at every tenth of an epoch, every `lineInterval`
 * seconds of a long phase, and one with the final numbers at the end of each epoch — never a
 * line per batch. Colours follow the terminal and `NO_COLOR`. The Trainer adds one unless
 * `enableProgressBar: false`; pass your own to change `refreshRate` or `leave`.
 */
import { format } from "node:util";
import { Chalk } from "chalk";
import type { LightningModule } from "../../core/module.ts";
import type { Trainer } from "../../trainer/trainer.ts";
import type { TrainBatchOutputs } from "../callback.ts";
import { Bar, type BarRenderer } from "./bar.ts";
import { LineRenderer } from "./line_renderer.ts";
import { ProgressBar } from "./progress_bar.ts";
import { TerminalRenderer, type TerminalStream } from "./terminal_renderer.ts";
import { PLAIN_STYLE, type LineStyle } from "./tqdm_format.ts";
import { checkOptionKeys, optionKeys } from "../../utilities/option_keys.ts";
import type { EnvironmentVariables } from "../../utilities/environment_variables.ts";

export interface TQDMProgressBarOptions {
  /** Redraw every N batches (default 1); 0 disables the bar. */
  refreshRate?: number;
  /** Offsets the bars' rows, for several trainers in one terminal (Lightning's `process_position`; kept for compatibility). */
  processPosition?: number;
  /** Keep each epoch's finished bar on screen (default false: one training bar, reused every epoch). */
  leave?: boolean;
  /** Where to draw (default `process.stdout`): a TTY gets redrawn bars, anything else plain lines. */
  stream?: TerminalStream;
  /** Plain-line output: also print a line after this many seconds without one (default 30). */
  lineInterval?: number;
}

/** Checked in the constructor (utilities/option_keys.ts). */
const OPTION_KEYS = optionKeys<TQDMProgressBarOptions>()(["refreshRate", "processPosition", "leave", "stream", "lineInterval"]);

/** Lightning's accent colour, for the bar itself. */
const LIGHTNING_PURPLE = "#792EE5";

/** The colour level for `stream`: 0 under `NO_COLOR` (or `FORCE_COLOR=0`), else what the terminal supports. */
export function colorLevel(stream: TerminalStream, env: EnvironmentVariables = process.env): 0 | 1 | 2 | 3 {
  if (env.NO_COLOR !== undefined && env.NO_COLOR !== "") return 0;
  if (env.FORCE_COLOR === "0" || env.FORCE_COLOR === "false") return 0;
  const depthFn = (stream as { getColorDepth?: (env?: EnvironmentVariables) => number }).getColorDepth;
  if (typeof depthFn === "function") {
    const depth = depthFn.call(stream, env);
    return depth >= 24 ? 3 : depth >= 8 ? 2 : depth >= 4 ? 1 : 0;
  }
  // A stand-in TTY (tests, wrappers) that cannot say: basic colours.
  return stream.isTTY ? 1 : 0;
}

function lineStyle(level: 0 | 1 | 2 | 3): LineStyle {
  if (level === 0) return PLAIN_STYLE;
  const chalk = new Chalk({ level });
  const barColor = level >= 2 ? chalk.hex(LIGHTNING_PURPLE) : chalk.magenta;
  return { desc: (s) => s, bar: (s) => barColor(s) };
}

function convertInf(x: number | null | undefined): number | null {
  if (x === null || x === undefined || !Number.isFinite(x)) return null;
  return x;
}

export class TQDMProgressBar extends ProgressBar {
  readonly processPosition: number;
  private readonly refreshRateValue: number;
  private readonly leave: boolean;
  private readonly lineInterval: number;
  private readonly streamOption: TerminalStream | undefined;
  private enabled = true;
  private rendererInstance: BarRenderer | null = null;
  private trainBar: Bar | null = null;
  private valBar: Bar | null = null;
  private testBar: Bar | null = null;
  private predictBar: Bar | null = null;

  constructor(options: TQDMProgressBarOptions = {}) {
    super();
    checkOptionKeys(options, OPTION_KEYS, "TQDMProgressBar");
    this.refreshRateValue = resolveRefreshRate(options.refreshRate ?? 1);
    this.processPosition = options.processPosition ?? 0;
    this.leave = options.leave ?? false;
    this.lineInterval = options.lineInterval ?? 30;
    this.streamOption = options.stream;
  }

  get refreshRate(): number {
    return this.refreshRateValue;
  }

  override get isEnabled(): boolean {
    return this.enabled && this.refreshRateValue > 0;
  }

  override disable(): void {
    this.enabled = false;
  }

  override enable(): void {
    this.enabled = true;
  }

  get trainProgressBar(): Bar {
    if (this.trainBar === null) throw new TypeError(`The \`${this.constructor.name}._train_progress_bar\` reference has not been set yet.`);
    return this.trainBar;
  }

  get valProgressBar(): Bar {
    if (this.valBar === null) throw new TypeError(`The \`${this.constructor.name}._val_progress_bar\` reference has not been set yet.`);
    return this.valBar;
  }

  get testProgressBar(): Bar {
    if (this.testBar === null) throw new TypeError(`The \`${this.constructor.name}._test_progress_bar\` reference has not been set yet.`);
    return this.testBar;
  }

  get predictProgressBar(): Bar {
    if (this.predictBar === null) throw new TypeError(`The \`${this.constructor.name}._predict_progress_bar\` reference has not been set yet.`);
    return this.predictBar;
  }

  private get stream(): TerminalStream {
    return this.streamOption ?? process.stdout;
  }

  /** Terminal bars on a TTY, plain lines elsewhere; decided when the first bar opens. */
  private get renderer(): BarRenderer {
    if (this.rendererInstance === null) {
      const stream = this.stream;
      this.rendererInstance = stream.isTTY
        ? new TerminalRenderer(stream, lineStyle(colorLevel(stream)))
        : new LineRenderer(stream, this.lineInterval);
    }
    return this.rendererInstance;
  }

  private newBar(desc: string, leave: boolean, reportLines = true): Bar {
    if (this.isDisabled) return new Bar(null, { desc, leave, disable: true });
    return new Bar(this.renderer, { desc, leave, reportLines });
  }

  // --- bar factories (override to customise, as Lightning's init_*_tqdm) ---------------------

  initSanityBar(): Bar {
    return this.newBar(this.sanityCheckDescription, false, false);
  }

  initTrainBar(): Bar {
    return this.newBar(this.trainDescription, true);
  }

  initValidationBar(): Bar {
    // Inside fit the training bar stays the main line: validation shows below it and then goes.
    const hasMainBar = this.trainer.state.fn !== "validate";
    return this.newBar(this.validationDescription, !hasMainBar, !hasMainBar);
  }

  initTestBar(): Bar {
    return this.newBar(this.testDescription, true);
  }

  initPredictBar(): Bar {
    return this.newBar(this.predictDescription, true);
  }

  private shouldUpdate(current: number, total: number | null): boolean {
    return this.isEnabled && (current % this.refreshRateValue === 0 || current === total);
  }

  // --- hooks -------------------------------------------------------------------------------

  override onSanityCheckStart(_trainer: Trainer, _module: LightningModule): void {
    this.valBar = this.initSanityBar();
    // A stand-in, so `print` during the sanity check finds no training bar to write through.
    this.trainBar = new Bar(null, { leave: false, disable: true });
  }

  override onSanityCheckEnd(_trainer: Trainer, _module: LightningModule): void {
    this.valBar?.close();
    this.trainBar?.close();
  }

  override onTrainStart(_trainer: Trainer, _module: LightningModule): void {
    this.trainBar = this.initTrainBar();
  }

  override onTrainEpochStart(trainer: Trainer, _module: LightningModule): void {
    if (this.leave) {
      // A bar per epoch: the one from `onTrainStart` (or an unused one) goes without leaving a line.
      if (this.trainBar !== null && !this.trainBar.closed) this.trainBar.discard();
      this.trainBar = this.initTrainBar();
    }
    const bar = this.trainProgressBar;
    bar.reset(convertInf(this.totalTrainBatches));
    bar.setDescription(`Epoch ${trainer.currentEpoch}`);
  }

  override onTrainBatchEnd(trainer: Trainer, module: LightningModule, _outputs: TrainBatchOutputs, _batch: unknown, batchIdx: number): void {
    const n = batchIdx + 1;
    const bar = this.trainBar;
    if (bar !== null && this.shouldUpdate(n, bar.total)) {
      // Metrics first, so a line printed for this update shows them.
      bar.setPostfix(this.getMetrics(trainer, module));
      bar.update(n);
    }
  }

  override onTrainEpochEnd(trainer: Trainer, module: LightningModule): void {
    const bar = this.trainProgressBar;
    if (!bar.disable) {
      bar.setPostfix(this.getMetrics(trainer, module));
      bar.finish();
    }
    if (this.leave) bar.close();
  }

  override onTrainEnd(_trainer: Trainer, _module: LightningModule): void {
    this.trainBar?.close();
  }

  override onValidationStart(trainer: Trainer, _module: LightningModule): void {
    if (!trainer.sanityChecking) this.valBar = this.initValidationBar();
  }

  override onValidationBatchStart(trainer: Trainer, _module: LightningModule, _batch: unknown, _batchIdx: number, dataloaderIdx: number): void {
    if (!this.hasDataloaderChanged(dataloaderIdx)) return;
    const desc = trainer.sanityChecking ? this.sanityCheckDescription : this.validationDescription;
    this.startDataloader(this.valProgressBar, this.totalValBatchesCurrentDataloader, desc, dataloaderIdx);
  }

  override onValidationBatchEnd(
    _trainer: Trainer,
    _module: LightningModule,
    _outputs: unknown,
    _batch: unknown,
    batchIdx: number,
    _dataloaderIdx: number,
  ): void {
    this.advanceEvalBar(this.valBar, batchIdx);
  }

  override onValidationEnd(trainer: Trainer, module: LightningModule): void {
    this.closeEvalBar(this.valProgressBar);
    if (this.trainBar !== null && trainer.state.fn === "fit") this.trainBar.setPostfix(this.getMetrics(trainer, module));
  }

  override onTestStart(_trainer: Trainer, _module: LightningModule): void {
    this.testBar = this.initTestBar();
  }

  override onTestBatchStart(_trainer: Trainer, _module: LightningModule, _batch: unknown, _batchIdx: number, dataloaderIdx: number): void {
    if (!this.hasDataloaderChanged(dataloaderIdx)) return;
    this.startDataloader(this.testProgressBar, this.totalTestBatchesCurrentDataloader, this.testDescription, dataloaderIdx);
  }

  override onTestBatchEnd(
    _trainer: Trainer,
    _module: LightningModule,
    _outputs: unknown,
    _batch: unknown,
    batchIdx: number,
    _dataloaderIdx: number,
  ): void {
    this.advanceEvalBar(this.testBar, batchIdx);
  }

  override onTestEnd(_trainer: Trainer, _module: LightningModule): void {
    this.closeEvalBar(this.testProgressBar);
  }

  override onPredictStart(_trainer: Trainer, _module: LightningModule): void {
    this.predictBar = this.initPredictBar();
  }

  override onPredictBatchStart(_trainer: Trainer, _module: LightningModule, _batch: unknown, _batchIdx: number, dataloaderIdx: number): void {
    if (!this.hasDataloaderChanged(dataloaderIdx)) return;
    this.startDataloader(this.predictProgressBar, this.totalPredictBatchesCurrentDataloader, this.predictDescription, dataloaderIdx);
  }

  override onPredictBatchEnd(
    _trainer: Trainer,
    _module: LightningModule,
    _outputs: unknown,
    _batch: unknown,
    batchIdx: number,
    _dataloaderIdx: number,
  ): void {
    this.advanceEvalBar(this.predictBar, batchIdx);
  }

  override onPredictEnd(_trainer: Trainer, _module: LightningModule): void {
    this.closeEvalBar(this.predictProgressBar);
  }

  /** A validation/test/predict bar restarts for each dataloader, named after it. */
  private startDataloader(bar: Bar, total: number, description: string, dataloaderIdx: number): void {
    bar.reset(convertInf(total));
    bar.setDescription(`${description} DataLoader ${dataloaderIdx}`);
  }

  private advanceEvalBar(bar: Bar | null, batchIdx: number): void {
    const n = batchIdx + 1;
    if (bar !== null && this.shouldUpdate(n, bar.total)) bar.update(n);
  }

  private closeEvalBar(bar: Bar): void {
    bar.finish();
    bar.close();
    this.resetDataloaderIdxTracker();
  }

  override onException(_trainer: Trainer, _module: LightningModule, _error: unknown): void {
    // Give the terminal back in a clean state before the error is printed.
    this.rendererInstance?.shutdown();
  }

  override teardown(): void {
    this.rendererInstance?.shutdown();
  }

  /** Prints above the bars (or as a plain line), so the bars are not broken. */
  override print(...args: unknown[]): void {
    const text = format(...args);
    // The renderer knows whether bars are on screen (it writes plainly when none are).
    if (this.rendererInstance !== null) this.rendererInstance.write(text);
    else this.stream.write(`${text}\n`);
  }
}

/** Lightning's `_resolve_refresh_rate`: `TQDM_MINITERS` raises it; Colab gets 20 (frequent redraws crash it there). */
function resolveRefreshRate(refreshRate: number, env: EnvironmentVariables = process.env): number {
  if (!Number.isInteger(refreshRate) || refreshRate < 0) throw new Error(`refreshRate must be a non-negative integer, got ${refreshRate}`);
  if (env.COLAB_GPU && refreshRate === 1) return 20;
  if (env.TQDM_MINITERS !== undefined && env.TQDM_MINITERS !== "") return Math.max(Number.parseInt(env.TQDM_MINITERS, 10) || 0, refreshRate);
  return refreshRate;
}
