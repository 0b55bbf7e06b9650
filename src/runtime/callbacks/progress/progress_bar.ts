/**
 * `ProgressBar` (Lightning 2.x's `lightning.pytorch.callbacks.ProgressBar`): the base class
 * of progress bars. It tracks which dataloader is being evaluated, knows the totals of each
 * loop, and collects the metrics to show (`trainer.progressBarMetrics` plus `v_num`, the
 * logger's version). Subclass it for a custom bar; `TQDMProgressBar` is the Trainer's default.
 * The Trainer's `progressBarCallback` is the callback extending this class.
 */
import { rankZeroWarn } from "../../utilities/rank_zero.ts";
import type { Logger } from "../../loggers/logger.ts";
import type { LightningModule } from "../../core/module.ts";
import type { Trainer } from "../../trainer/trainer.ts";
import type { TrainerFnName } from "../../trainer/states.ts";
import { Callback } from "../callback.ts";
import type { PostfixValue } from "./tqdm_format.ts";

export abstract class ProgressBar extends Callback {
  private _trainer: Trainer | null = null;
  private currentEvalDataloaderIdx: number | null = null;

  /** The Trainer this bar reports on (set at setup). */
  get trainer(): Trainer {
    if (this._trainer === null) throw new TypeError(`The \`${this.constructor.name}._trainer\` reference has not been set yet.`);
    return this._trainer;
  }

  get sanityCheckDescription(): string {
    return "Sanity Checking";
  }
  get trainDescription(): string {
    return "Training";
  }
  get validationDescription(): string {
    return "Validation";
  }
  get testDescription(): string {
    return "Testing";
  }
  get predictDescription(): string {
    return "Predicting";
  }

  /** Training batches this epoch (fewer when `maxSteps` ends training first); may be Infinity. */
  get totalTrainBatches(): number {
    const t = this.trainer;
    if (t.maxEpochs === -1 && t.maxSteps !== null && t.maxSteps !== undefined && t.maxSteps > 0) {
      return Math.min(t.numTrainingBatches, t.maxSteps - t.globalStep);
    }
    return t.numTrainingBatches;
  }

  /** Validation (or sanity-check) batches of the dataloader being evaluated. */
  get totalValBatchesCurrentDataloader(): number {
    const t = this.trainer;
    const batches = t.sanityChecking ? t.numSanityValBatches : t.numValBatches;
    return pickBatches(batches, this.currentEvalDataloaderIdx);
  }

  get totalTestBatchesCurrentDataloader(): number {
    return pickBatches(this.trainer.numTestBatches, this.currentEvalDataloaderIdx);
  }

  get totalPredictBatchesCurrentDataloader(): number {
    return pickBatches(this.trainer.numPredictBatches, this.currentEvalDataloaderIdx);
  }

  /** Validation batches over all val dataloaders. */
  get totalValBatches(): number {
    const n = this.trainer.numValBatches as number | number[];
    return Array.isArray(n) ? n.reduce((a, b) => a + b, 0) : n;
  }

  /** Records `dataloaderIdx` as the one being evaluated; true when it differs from the previous one. */
  hasDataloaderChanged(dataloaderIdx: number): boolean {
    const old = this.currentEvalDataloaderIdx;
    this.currentEvalDataloaderIdx = dataloaderIdx;
    return old !== dataloaderIdx;
  }

  resetDataloaderIdxTracker(): void {
    this.currentEvalDataloaderIdx = null;
  }

  /** Turns the bar off (the Trainer does so on ranks other than 0). */
  abstract disable(): void;
  abstract enable(): void;
  abstract get isEnabled(): boolean;

  get isDisabled(): boolean {
    return !this.isEnabled;
  }

  /** Prints without breaking the bar. */
  print(...args: unknown[]): void {
    console.log(...args);
  }

  override setup(trainer: Trainer, _module: LightningModule, _stage: TrainerFnName): void {
    this._trainer = trainer;
    if (!trainer.isGlobalZero) this.disable();
  }

  /**
   * What the bar shows after the counts: `v_num` (the logger's version) and every metric logged
   * with `progBar: true`. Override to change it.
   */
  getMetrics(trainer: Trainer, _module: LightningModule | null): Record<string, PostfixValue> {
    const standard = getStandardMetrics(trainer);
    const pbar = trainer.progressBarMetrics;
    const duplicates = Object.keys(standard).filter((k) => k in pbar);
    if (duplicates.length > 0) {
      rankZeroWarn(
        `The progress bar already tracks a metric with the name(s) '${duplicates.join(", ")}' and` +
          ` \`this.log('${duplicates[0]}', ..., { progBar: true })\` will overwrite this value. ` +
          " If this is undesired, change the name or override `getMetrics()` in the progress bar callback.",
      );
    }
    return { ...standard, ...pbar };
  }
}

function pickBatches(batches: number | readonly number[], idx: number | null): number {
  if (!Array.isArray(batches)) return batches as number;
  return (batches as number[])[idx ?? 0] ?? 0;
}

/**
 * `v_num`: the experiment version of the loggers (`version_3` → 3), the last four characters
 * of a string version, several loggers' versions joined with `_`; nothing without a logger.
 */
export function getStandardMetrics(trainer: Trainer): Record<string, PostfixValue> {
  const loggers: readonly Logger[] = trainer.loggers;
  if (loggers.length === 0) return {};
  let version: number | string | undefined;
  if (loggers.length === 1) version = loggers[0].version;
  else version = [...new Set(loggers.map((l) => String(l.version)))].join("_");
  if (version === undefined || version === null || version === "") return {};
  if (typeof version === "string") return { v_num: version.slice(-4) };
  return { v_num: { value: version, isInt: true } };
}
