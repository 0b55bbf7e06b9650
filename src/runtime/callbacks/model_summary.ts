/**
 * `ModelSummary` (Lightning 2.x's `lightning.pytorch.callbacks.ModelSummary`): prints the
 * model's layer table (see summary/model_summary_table.ts) when `fit` starts, on rank 0.
 * The Trainer adds one with `maxDepth: 1` unless `enableModelSummary: false`; pass your own to
 * show deeper levels (`-1`: all) or `0` to print nothing.
 */
import type { LightningModule } from "../core/module.ts";
import type { Trainer } from "../trainer/trainer.ts";
import { Callback } from "./callback.ts";
import { rankZeroInfo } from "../utilities/rank_zero.ts";
import { formatSummaryTable, summarize, type ModelSummaryTable } from "./summary/model_summary_table.ts";
import { checkOptionKeys, optionKeys } from "../utilities/option_keys.ts";

export interface ModelSummaryOptions {
  /** Levels of submodules to list (default 1: the module's direct children); -1 lists all, 0 prints nothing. */
  maxDepth?: number;
}

/** Checked in the constructor (utilities/option_keys.ts). */
const OPTION_KEYS = optionKeys<ModelSummaryOptions>()(["maxDepth"]);

export class ModelSummary extends Callback {
  readonly maxDepth: number;

  constructor(options: ModelSummaryOptions = {}) {
    super();
    checkOptionKeys(options, OPTION_KEYS, "ModelSummary");
    this.maxDepth = options.maxDepth ?? 1;
    if (!Number.isInteger(this.maxDepth) || this.maxDepth < -1) {
      throw new Error(`\`maxDepth\` can be -1, 0 or > 0, got ${this.maxDepth}.`);
    }
  }

  override onFitStart(trainer: Trainer, module: LightningModule): void {
    if (!this.maxDepth) return;
    const summary = this.summary(trainer, module);
    // Built on every rank (the example forward pass must run everywhere alike); printed on rank 0.
    const data = summary.summaryData();
    rankZeroInfo(
      "\n" + formatSummaryTable(summary.totalParameters, summary.trainableParameters, summary.modelSize, summary.totalTrainingModes, data),
      trainer,
    );
  }

  /** The structured summary this callback prints (override to summarize differently). */
  protected summary(trainer: Trainer, module: LightningModule): ModelSummaryTable {
    const plugin = trainer.precisionPlugin;
    return summarize(module, this.maxDepth, {
      precision: plugin?.name ?? null,
      forwardContext: plugin ? <T>(fn: () => T) => plugin.forwardContext(fn) : undefined,
    });
  }
}
