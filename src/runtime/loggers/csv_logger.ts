/**
 * `CSVLogger`: metrics to `<saveDir>/<name>/version_N/metrics.csv` and hyperparameters to
 * `hparams.yaml` beside it, as Lightning's `lightning.pytorch.loggers.CSVLogger`.
 *
 * Plain files that need nothing to read them (a spreadsheet, pandas, `cat`), for runs where
 * TensorBoard is not wanted. Rows are buffered and written every `flushLogsEveryNSteps` steps and
 * on `save()`/`finalize()`.
 */
import { CsvExperimentWriter } from "./csv_experiment_writer.ts";
import { Logger, type LoggerStatus } from "./logger.ts";
import { LOGGER_JOIN_CHAR, addPrefix, convertParams, metricToNumber, type MetricValue } from "./params.ts";
import { dummyExperiment, rankZeroOnly } from "../utilities/rank_zero.ts";
import { ExperimentDirectory, type Version } from "./versioning.ts";
import { checkOptionKeys, optionKeys } from "../utilities/option_keys.ts";

export interface CSVLoggerOptions {
  /** Experiment folder under `saveDir`; `null` or `""` puts versions directly in `saveDir`. */
  name?: string | null;
  /** Version number (`version_N`) or directory name; by default one past the largest existing. */
  version?: Version | null;
  /** Put before every metric key, joined with `-`. */
  prefix?: string;
  /** Write buffered rows to disk when `(step + 1)` is a multiple of this. */
  flushLogsEveryNSteps?: number;
}

/** Checked in the constructor (utilities/option_keys.ts). */
const OPTION_KEYS = optionKeys<CSVLoggerOptions>()(["name", "version", "prefix", "flushLogsEveryNSteps"]);

export class CSVLogger extends Logger {
  private readonly dirs: ExperimentDirectory;
  private readonly prefix: string;
  private readonly flushLogsEveryNSteps: number;
  private writer: CsvExperimentWriter | undefined;
  /** Rows logged without a step get consecutive ones. */
  private rowsLogged = 0;

  constructor(saveDir: string, options: CSVLoggerOptions = {}) {
    super();
    checkOptionKeys(options, OPTION_KEYS, "CSVLogger");
    const flushEvery = options.flushLogsEveryNSteps ?? 100;
    if (!Number.isInteger(flushEvery) || flushEvery < 1) {
      throw new Error(`flushLogsEveryNSteps must be a positive integer, got ${flushEvery}`);
    }
    this.dirs = new ExperimentDirectory(
      saveDir,
      options.name === undefined ? "lightning_logs" : (options.name ?? ""),
      options.version,
    );
    this.prefix = options.prefix ?? "";
    this.flushLogsEveryNSteps = flushEvery;
  }

  override get name(): string {
    return this.dirs.name;
  }

  override get version(): Version {
    return this.dirs.version;
  }

  override get saveDir(): string {
    return this.dirs.saveDir;
  }

  override get rootDir(): string {
    return this.dirs.rootDir;
  }

  override get logDir(): string {
    return this.dirs.logDir;
  }

  /**
   * The writer behind the files, created (with its directory) on first use. On ranks other than
   * 0 it is a stand-in that ignores every call.
   */
  get experiment(): CsvExperimentWriter {
    if (!rankZeroOnly.isRankZero) return dummyExperiment<CsvExperimentWriter>();
    this.writer ??= new CsvExperimentWriter(this.logDir);
    return this.writer;
  }

  override logHyperparams(params: Record<string, unknown>): void {
    if (!rankZeroOnly.isRankZero) return;
    this.experiment.logHparams(convertParams(params));
  }

  override logMetrics(metrics: Record<string, MetricValue>, step?: number): void {
    if (!rankZeroOnly.isRankZero) return;
    const values: Record<string, number> = {};
    for (const [k, v] of Object.entries(addPrefix(metrics, this.prefix, LOGGER_JOIN_CHAR))) {
      values[k] = metricToNumber(k, v);
    }
    // Lightning numbers step-less rows by the rows in its buffer, which restarts at 0 after each
    // flush; counting every row logged keeps the numbers increasing across flushes instead.
    const rowStep = step ?? this.rowsLogged;
    this.rowsLogged++;
    this.experiment.logMetrics(values, rowStep);
    if ((rowStep + 1) % this.flushLogsEveryNSteps === 0) this.save();
  }

  override save(): void {
    if (!rankZeroOnly.isRankZero) return;
    this.experiment.save();
  }

  override finalize(_status: LoggerStatus): void {
    // Nothing was logged from this process (e.g. the launcher process of a spawned run): there
    // is no directory to create and nothing to flush.
    if (!rankZeroOnly.isRankZero || this.writer === undefined) return;
    this.save();
  }
}
