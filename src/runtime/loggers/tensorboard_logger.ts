/**
 * `TensorBoardLogger`: the Trainer's default logger, as Lightning's
 * `lightning.pytorch.loggers.TensorBoardLogger`.
 *
 * Writes `<saveDir>/<name>/version_N/events.out.tfevents.*` (scalars, plus the HParams dashboard
 * summaries) and `hparams.yaml` beside it; `tensorboard --logdir <saveDir>/<name>` shows every
 * version as a run.
 */
import * as fs from "node:fs";
import * as path from "node:path";

import { HPARAMS_FILE_NAME, saveHparamsToYaml } from "./hparams_yaml.ts";
import { hparamsSummaries } from "./hparams_plugin.ts";
import { Logger, type LoggerStatus } from "./logger.ts";
import {
  LOGGER_JOIN_CHAR,
  addPrefix,
  convertParams,
  flattenDict,
  metricToNumber,
  sanitizeParams,
  type MetricValue,
} from "./params.ts";
import { dummyExperiment, rankZeroOnly } from "../utilities/rank_zero.ts";
import { SummaryWriter, type SummaryWriterOptions } from "./summary_writer.ts";
import { ExperimentDirectory, type Version } from "./versioning.ts";
import { checkOptionKeys, optionKeys } from "../utilities/option_keys.ts";

export interface TensorBoardLoggerOptions extends SummaryWriterOptions {
  /** Experiment folder under `saveDir`; `null` or `""` puts versions directly in `saveDir`. */
  name?: string | null;
  /** Version number (`version_N`) or directory name; by default one past the largest existing. */
  version?: Version | null;
  /**
   * When `logHyperparams` is called without metrics, log a placeholder `hp_metric` of -1 so the
   * HParams dashboard lists the run (it only shows runs with at least one metric).
   */
  defaultHpMetric?: boolean;
  /** Put before every metric key, joined with `-`. */
  prefix?: string;
  /** Extra folder inside the version directory (`version_0/<subDir>`), to group event files. */
  subDir?: string;
}

/** Checked in the constructor (utilities/option_keys.ts). */
const OPTION_KEYS = optionKeys<TensorBoardLoggerOptions>()(["name", "version", "defaultHpMetric", "prefix", "subDir", "maxQueue", "flushSecs", "filenameSuffix"]);

export class TensorBoardLogger extends Logger {
  /** Every hyperparameter logged so far, nested as given; what `hparams.yaml` holds. */
  readonly hparams: Record<string, unknown> = {};
  private readonly dirs: ExperimentDirectory;
  private readonly defaultHpMetric: boolean;
  private readonly prefix: string;
  private readonly writerOptions: SummaryWriterOptions;
  private writer: SummaryWriter | undefined;

  constructor(saveDir: string, options: TensorBoardLoggerOptions = {}) {
    super();
    checkOptionKeys(options, OPTION_KEYS, "TensorBoardLogger");
    const { name, version, defaultHpMetric, prefix, subDir, ...writerOptions } = options;
    this.dirs = new ExperimentDirectory(saveDir, name === undefined ? "lightning_logs" : (name ?? ""), version, subDir);
    this.defaultHpMetric = defaultHpMetric ?? true;
    this.prefix = prefix ?? "";
    this.writerOptions = writerOptions;
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

  /** `<saveDir>/<name>/version_N`, plus `subDir` when one was given. */
  override get logDir(): string {
    return this.dirs.logDir;
  }

  get subDir(): string | undefined {
    return this.dirs.subDir;
  }

  /**
   * The `SummaryWriter`, created (with the version directory and its event file) on first use.
   * On ranks other than 0 it is a stand-in that ignores every call.
   */
  get experiment(): SummaryWriter {
    if (!rankZeroOnly.isRankZero) return dummyExperiment<SummaryWriter>();
    this.writer ??= new SummaryWriter(this.logDir, this.writerOptions);
    return this.writer;
  }

  override logMetrics(metrics: Record<string, MetricValue>, step?: number): void {
    if (!rankZeroOnly.isRankZero) return;
    const writer = this.experiment;
    for (const [key, value] of Object.entries(addPrefix(metrics, this.prefix, LOGGER_JOIN_CHAR))) {
      writer.addScalar(key, metricToNumber(key, value), step);
    }
  }

  /**
   * Records hyperparameters: merged into `hparams.yaml`, and as HParams-dashboard summaries
   * (nested keys flattened to `a/b`) tracked against `metrics`: by default a placeholder
   * `hp_metric` = -1, to be overwritten by logging a real `hp_metric` later; a bare value is
   * taken as `hp_metric`. With `defaultHpMetric: false` and no metrics, only the YAML is written,
   * since the dashboard would not show the run anyway.
   */
  override logHyperparams(params: Record<string, unknown>, metrics?: Record<string, MetricValue> | MetricValue): void {
    if (!rankZeroOnly.isRankZero) return;
    const converted = convertParams(params);
    Object.assign(this.hparams, converted);
    this.writeHparamsYaml();

    let hpMetrics: Record<string, MetricValue> | undefined;
    if (metrics === undefined) hpMetrics = this.defaultHpMetric ? { hp_metric: -1 } : undefined;
    else if (isMetricValue(metrics)) hpMetrics = { hp_metric: metrics };
    else hpMetrics = metrics;
    if (hpMetrics === undefined || Object.keys(hpMetrics).length === 0) return;

    this.logMetrics(hpMetrics, 0);
    const summaries = hparamsSummaries(sanitizeParams(flattenDict(converted)), hpMetrics);
    const writer = this.experiment;
    writer.addSummary(summaries.experiment);
    writer.addSummary(summaries.sessionStartInfo);
    writer.addSummary(summaries.sessionEndInfo);
  }

  /** Flushes the event file and writes `hparams.yaml` if the run has none yet. */
  override save(): void {
    if (!rankZeroOnly.isRankZero) return;
    this.experiment.flush();
    this.writeHparamsYamlIfMissing();
  }

  /**
   * Flushes and closes the event file. After a successful run `hparams.yaml` is guaranteed to
   * exist (`{}` when no hyperparameters were logged), as in Lightning.
   */
  override finalize(status: LoggerStatus): void {
    if (!rankZeroOnly.isRankZero) return;
    this.writer?.close();
    if (status === "success") this.writeHparamsYamlIfMissing();
  }

  private hparamsFile(): string {
    return path.join(this.logDir, HPARAMS_FILE_NAME);
  }

  private writeHparamsYaml(): void {
    fs.mkdirSync(this.logDir, { recursive: true });
    saveHparamsToYaml(this.hparamsFile(), this.hparams);
  }

  private writeHparamsYamlIfMissing(): void {
    if (fs.existsSync(this.logDir) && !fs.existsSync(this.hparamsFile())) {
      saveHparamsToYaml(this.hparamsFile(), this.hparams);
    }
  }
}

function isMetricValue(value: unknown): value is MetricValue {
  return typeof value === "number" || (typeof value === "object" && value !== null && "dataSync" in value);
}
