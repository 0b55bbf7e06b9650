/**
 * Profilers (Lightning's `lightning.pytorch.profilers`): the Trainer brackets its work in named
 * actions (`run_training_epoch`, `run_training_batch`, `[LightningModule]Net.training_step`,
 * `[Callback]ModelCheckpoint.on_train_epoch_end`, …) and a profiler records how long each took.
 * `describe()` prints the report when the run ends.
 *
 * Action names keep Lightning's snake_case spelling so reports compare line by line with a
 * Lightning run of the same model.
 */
import * as fs from "node:fs";
import * as path from "node:path";

export abstract class Profiler {
  /**
   * False for the pass-through profiler: the Trainer then skips building action names in its
   * hot loops (a string per hook per batch is measurable next to a small model's step).
   */
  readonly records: boolean = true;
  protected stage: string | null = null;
  protected localRank: number | null = null;
  protected logDir: string | null = null;

  constructor(
    /** Folder for the report file; with neither `dirpath` nor `filename` the report is printed. */
    readonly dirpath: string | null = null,
    /** Report file name stem: `<stage>-<filename>.txt`. */
    readonly filename: string | null = null,
  ) {}

  /** Starts timing `action`. */
  abstract start(action: string): void;
  /** Stops timing `action` (started by `start`). */
  abstract stop(action: string): void;
  /** The report as text. */
  abstract summary(): string;

  /** Times `fn` (sync or async) as `action`. */
  profile<T>(action: string, fn: () => T): T {
    this.start(action);
    let result: T;
    try {
      result = fn();
    } catch (e) {
      this.stop(action);
      throw e;
    }
    if (result instanceof Promise) {
      return result.finally(() => this.stop(action)) as T;
    }
    this.stop(action);
    return result;
  }

  /** Called by the Trainer when a stage starts. */
  setup(stage: string, localRank: number | null = null, logDir: string | null = null): void {
    this.stage = stage;
    this.localRank = localRank;
    this.logDir = logDir;
  }

  /** Called by the Trainer when a stage ends, after `describe()`. */
  teardown(_stage: string | null): void {
    this.stage = null;
  }

  /**
   * Writes the report — to `<dirpath>/<stage>-<filename>.txt` when a file name was given, else
   * to stdout (rank 0 only) — and starts over for the next stage (Lightning's `describe`).
   */
  describe(): void {
    const text = this.summary();
    if (text) this.write(text);
    this.teardown(this.stage);
  }

  private write(text: string): void {
    if (this.filename) {
      const dir = this.dirpath ?? this.logDir ?? process.cwd();
      fs.mkdirSync(dir, { recursive: true });
      const rank = this.localRank !== null && this.localRank > 0 ? `-rank${this.localRank}` : "";
      const file = path.join(dir, `${this.stage ? `${this.stage}-` : ""}${this.filename}${rank}.txt`);
      fs.appendFileSync(file, text, "utf8");
      return;
    }
    if (this.localRank === null || this.localRank === 0) process.stdout.write(text);
  }
}

/** The default profiler (`profiler: undefined`): records nothing, costs nothing. */
export class PassThroughProfiler extends Profiler {
  override readonly records: boolean = false;

  override start(_action: string): void {}
  override stop(_action: string): void {}
  override summary(): string {
    return "";
  }
  override profile<T>(_action: string, fn: () => T): T {
    return fn();
  }
}
