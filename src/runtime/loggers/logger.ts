/**
 * The logger interface the Trainer talks to, as Lightning 2.x's `Logger`.
 *
 * The Trainer (and user code through `this.logger`) only ever calls these members, so any
 * experiment tracker can be plugged in by subclassing. Concrete loggers write on rank 0 only;
 * the base class keeps the no-op defaults Lightning has for the optional hooks.
 */
import type { MetricValue } from "./params.ts";

/**
 * How a run ended, as the Trainer reports it to `finalize`. Lightning passes `"success"`,
 * `"failed"` or `"finished"`; other strings are allowed for custom loops.
 */
export type LoggerStatus = "success" | "failed" | "finished" | "interrupted" | (string & {});

export abstract class Logger {
  /** Joins metric groups (`train/loss`), as Lightning's `group_separator`. */
  get groupSeparator(): string {
    return "/";
  }

  /** The experiment name; `""` when the logger writes straight into its save directory. */
  abstract get name(): string | undefined;

  /** The experiment version: `N` of `version_N`, or the directory name given as a string. */
  abstract get version(): number | string | undefined;

  /** The folder holding all versions of this experiment (`<saveDir>/<name>`), if the logger has one. */
  get rootDir(): string | undefined {
    return undefined;
  }

  /** This run's folder (`<saveDir>/<name>/version_N`), if the logger writes files. */
  get logDir(): string | undefined {
    return undefined;
  }

  /** The folder the logger was told to write under; the Trainer puts `checkpoints/` beside it. */
  get saveDir(): string | undefined {
    return undefined;
  }

  /** Records `metrics` at `step` (the global step; loggers that need one make their own if absent). */
  abstract logMetrics(metrics: Record<string, MetricValue>, step?: number): void;

  /** Records the run's hyperparameters. */
  abstract logHyperparams(params: Record<string, unknown>): void;

  /** Records the model graph; loggers that cannot show graphs ignore it. */
  logGraph(_model: unknown, _inputArray?: unknown): void {}

  /** Makes everything logged so far durable (flushes buffers, writes side files). */
  save(): void {}

  /** Called once when training ends, however it ended; by default a final `save()`. */
  finalize(_status: LoggerStatus): void {
    this.save();
  }

  /** Called by checkpointing after each checkpoint is written (for loggers that upload them). */
  afterSaveCheckpoint(_checkpointCallback: unknown): void {}
}
