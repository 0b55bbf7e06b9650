/**
 * The files behind `CSVLogger`: `metrics.csv` and `hparams.yaml` in one version directory, written
 * the way Lightning's `ExperimentWriter` writes them.
 *
 * Rows are buffered and appended on `save()`. The header is the sorted union of every key logged
 * so far plus `step`; a metric that first appears late (validation after the first epoch, a
 * learning-rate monitor) widens the header, and since a CSV header cannot be widened in place the
 * file is rewritten under the new header with empty cells where earlier rows had no value.
 */
import * as fs from "node:fs";
import * as path from "node:path";

import { formatCsvRow, parseCsv } from "./csv_format.ts";
import { HPARAMS_FILE_NAME, saveHparamsToYaml } from "./hparams_yaml.ts";
import { pyNumberRepr, pyStrCompare } from "../utilities/python_format.ts";
import { rankZeroWarn } from "../utilities/rank_zero.ts";

export const METRICS_FILE_NAME = "metrics.csv";

export class CsvExperimentWriter {
  readonly metricsFilePath: string;
  /** Rows logged since the last `save()`, each with its `step`. */
  metrics: Array<Record<string, number>> = [];
  /** The columns of `metrics.csv` as last written, sorted as Python sorts strings. */
  readonly metricsKeys: string[] = [];
  /** Every hyperparameter logged so far (later calls update earlier keys). */
  readonly hparams: Record<string, unknown> = {};

  constructor(readonly logDir: string) {
    this.metricsFilePath = path.join(logDir, METRICS_FILE_NAME);
    this.checkLogDirExists();
    fs.mkdirSync(logDir, { recursive: true });
  }

  /** Buffers one row; `step` becomes its `step` column (and wins over a metric named "step"). */
  logMetrics(metrics: Readonly<Record<string, number>>, step: number): void {
    this.metrics.push({ ...metrics, step });
  }

  /** Merges `params` into the run's hyperparameters and rewrites `hparams.yaml`. */
  logHparams(params: Readonly<Record<string, unknown>>): void {
    Object.assign(this.hparams, params);
    saveHparamsToYaml(path.join(this.logDir, HPARAMS_FILE_NAME), this.hparams);
  }

  /** Appends the buffered rows to `metrics.csv`, rewriting it first if the header grew. */
  save(): void {
    if (this.metrics.length === 0) return;
    const newKeys = this.recordNewKeys();
    const fileExists = isFile(this.metricsFilePath);
    if (newKeys && fileExists) this.rewriteWithNewHeader();

    let text = fileExists ? "" : formatCsvRow(this.metricsKeys);
    for (const row of this.metrics) text += this.formatRow(row);
    fs.appendFileSync(this.metricsFilePath, text, "utf8");
    this.metrics = [];
  }

  /** Adds keys first seen in the buffered rows to the header; whether there were any. */
  private recordNewKeys(): boolean {
    const known = new Set(this.metricsKeys);
    let added = false;
    for (const row of this.metrics) {
      for (const key of Object.keys(row)) {
        if (known.has(key)) continue;
        known.add(key);
        this.metricsKeys.push(key);
        added = true;
      }
    }
    this.metricsKeys.sort(pyStrCompare);
    return added;
  }

  private formatRow(row: Readonly<Record<string, number>>): string {
    return formatCsvRow(
      this.metricsKeys.map((key) => {
        const value = row[key];
        return value === undefined ? "" : pyNumberRepr(value);
      }),
    );
  }

  /**
   * Re-reads the rows already on disk and writes them back under the current header. Cells are
   * copied as text, so values written earlier keep their exact spelling. The new file replaces
   * the old one atomically: a crash mid-rewrite must not lose the rows of a long run.
   */
  private rewriteWithNewHeader(): void {
    const [header = [], ...rows] = parseCsv(fs.readFileSync(this.metricsFilePath, "utf8"));
    let text = formatCsvRow(this.metricsKeys);
    for (const cells of rows) {
      const byKey = new Map<string, string>();
      header.forEach((key, i) => byKey.set(key, cells[i] ?? ""));
      text += formatCsvRow(this.metricsKeys.map((key) => byKey.get(key) ?? ""));
    }
    const tmp = `${this.metricsFilePath}.${process.pid}.tmp`;
    fs.writeFileSync(tmp, text, "utf8");
    fs.renameSync(tmp, this.metricsFilePath);
  }

  /**
   * A version directory that already has files belongs to an earlier run given the same explicit
   * version. Lightning warns and removes the old `metrics.csv` (other files stay) so the new run
   * does not append to the old run's rows.
   */
  private checkLogDirExists(): void {
    let entries: string[];
    try {
      entries = fs.readdirSync(this.logDir);
    } catch {
      return;
    }
    if (entries.length === 0) return;
    rankZeroWarn(
      `Experiment logs directory ${this.logDir} exists and is not empty.` +
        " Previous log files in this directory will be deleted when the new ones are saved!",
    );
    if (isFile(this.metricsFilePath)) fs.rmSync(this.metricsFilePath);
  }
}

function isFile(file: string): boolean {
  try {
    return fs.statSync(file).isFile();
  } catch {
    return false;
  }
}
