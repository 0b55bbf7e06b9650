/**
 * `EarlyStopping` (Lightning 2.x's `lightning.pytorch.callbacks.EarlyStopping`): stops
 * training when a monitored metric stops improving.
 *
 *   new EarlyStopping({ monitor: "val_loss", patience: 3, minDelta: 0.01 })
 *
 * `patience` counts *checks*, not epochs: a check happens at every validation run (or, when
 * validation runs exactly once per epoch, at the end of every training epoch), and each check
 * without an improvement of more than `minDelta` adds one to `waitCount`. With
 * `valCheckInterval: 0.5` there are two checks per epoch; with `checkValEveryNEpoch: 10` and
 * `patience: 3` training lasts at least 40 epochs. `stoppingThreshold`, `divergenceThreshold`
 * and a non-finite value stop at once. Stopping sets `trainer.shouldStop`; the Trainer ends the
 * run once `minEpochs` / `minSteps` are met.
 */
import { MisconfigurationError } from "../errors.ts";
import { rankZeroWarn } from "../utilities/rank_zero.ts";
import type { LightningModule } from "../core/module.ts";
import type { Trainer } from "../trainer/trainer.ts";
import type { TrainerFnName } from "../trainer/states.ts";
import { Callback } from "./callback.ts";
import { reduceBooleanDecision, rankPrefixedMessage } from "./distributed.ts";
import { infoEnabled } from "../utilities/rank_zero.ts";
import { formatPyNumber, pyFloat, pyFloatRepr } from "../utilities/python_format.ts";
import { checkOptionKeys, optionKeys } from "../utilities/option_keys.ts";

/** Why training was stopped (Lightning's `EarlyStoppingReason`; the numbers are its values). */
export enum EarlyStoppingReason {
  NOT_STOPPED = 0,
  STOPPING_THRESHOLD = 1,
  DIVERGENCE_THRESHOLD = 2,
  PATIENCE_EXHAUSTED = 3,
  NON_FINITE_METRIC = 4,
}

export interface EarlyStoppingOptions {
  /** The metric to watch (as logged with `this.log`). */
  monitor: string;
  /** An improvement must exceed this much (absolute) to count (default 0). */
  minDelta?: number;
  /** Checks without improvement before stopping (default 3). */
  patience?: number;
  /** Print a line when the metric improves and when training is stopped. */
  verbose?: boolean;
  /** Whether lower ("min", default) or higher ("max") is better. */
  mode?: "min" | "max";
  /** Error (default) when the metric is missing; false skips the check instead. */
  strict?: boolean;
  /** Stop when the metric becomes NaN or infinite (default true). */
  checkFinite?: boolean;
  /** Stop as soon as the metric is better than this. */
  stoppingThreshold?: number | null;
  /** Stop as soon as the metric is worse than this. */
  divergenceThreshold?: number | null;
  /** Check at the end of the training epoch (true) or after validation (false); default: at epoch end only when validation runs once per epoch. */
  checkOnTrainEpochEnd?: boolean | null;
  /** In multi-process runs, print the verbose lines from rank 0 only. */
  logRankZeroOnly?: boolean;
}

/** Checked in the constructor (utilities/option_keys.ts). */
const OPTION_KEYS = optionKeys<EarlyStoppingOptions>()(["monitor", "minDelta", "patience", "verbose", "mode", "strict", "checkFinite", "stoppingThreshold", "divergenceThreshold", "checkOnTrainEpochEnd", "logRankZeroOnly"]);

export class EarlyStopping extends Callback {
  monitor: string;
  /** Stored signed, as Lightning: negative in "min" mode, so `current - minDelta` is the value to beat. */
  minDelta: number;
  patience: number;
  verbose: boolean;
  readonly mode: "min" | "max";
  strict: boolean;
  checkFinite: boolean;
  stoppingThreshold: number | null;
  divergenceThreshold: number | null;
  logRankZeroOnly: boolean;
  /** Checks since the last improvement. */
  waitCount = 0;
  /** The epoch at which this callback stopped training (0 if it did not). */
  stoppedEpoch = 0;
  bestScore: number;
  stoppingReason = EarlyStoppingReason.NOT_STOPPED;
  stoppingReasonMessage: string | null = null;
  private checkOnTrainEpochEndFlag: boolean | null;

  constructor(options: EarlyStoppingOptions) {
    super();
    checkOptionKeys(options, OPTION_KEYS, "EarlyStopping");
    if (options === undefined || typeof options.monitor !== "string") {
      throw new MisconfigurationError("EarlyStopping requires `monitor`: the name of a logged metric");
    }
    this.monitor = options.monitor;
    this.patience = options.patience ?? 3;
    this.verbose = options.verbose ?? false;
    this.strict = options.strict ?? true;
    this.checkFinite = options.checkFinite ?? true;
    this.stoppingThreshold = options.stoppingThreshold ?? null;
    this.divergenceThreshold = options.divergenceThreshold ?? null;
    this.checkOnTrainEpochEndFlag = options.checkOnTrainEpochEnd ?? null;
    this.logRankZeroOnly = options.logRankZeroOnly ?? false;
    const mode = options.mode ?? "min";
    if (mode !== "min" && mode !== "max") throw new MisconfigurationError(`\`mode\` can be min, max, got ${String(mode)}`);
    this.mode = mode;
    const minDelta = options.minDelta ?? 0;
    this.minDelta = mode === "max" ? minDelta : -minDelta;
    this.bestScore = mode === "min" ? Infinity : -Infinity;
  }

  override get stateKey(): string {
    return this.generateStateKey({ monitor: this.monitor, mode: this.mode });
  }

  /** Whether this callback checks at the end of the training epoch (resolved at setup). */
  get checkOnTrainEpochEnd(): boolean | null {
    return this.checkOnTrainEpochEndFlag;
  }

  override get isMonitoringCallback(): boolean {
    return true;
  }

  /** `a` better than `b` in this mode (strictly). */
  private monitorOp(a: number, b: number): boolean {
    return this.mode === "min" ? a < b : a > b;
  }

  override setup(trainer: Trainer, _module: LightningModule, _stage: TrainerFnName): void {
    if (this.checkOnTrainEpochEndFlag === null) {
      // Several validations per epoch, or epochs without validation: check after validation.
      this.checkOnTrainEpochEndFlag = trainer.valCheckInterval === 1.0 && trainer.checkValEveryNEpoch === 1;
    }
  }

  override stateDict(): Record<string, unknown> {
    return {
      waitCount: this.waitCount,
      stoppedEpoch: this.stoppedEpoch,
      bestScore: this.bestScore,
      patience: this.patience,
      stoppingReason: this.stoppingReason,
      stoppingReasonMessage: this.stoppingReasonMessage,
    };
  }

  override loadStateDict(state: Record<string, unknown>): void {
    this.waitCount = state.waitCount as number;
    this.stoppedEpoch = state.stoppedEpoch as number;
    this.bestScore = toNumber(state.bestScore);
    this.patience = state.patience as number;
    this.stoppingReason = (state.stoppingReason as EarlyStoppingReason | undefined) ?? EarlyStoppingReason.NOT_STOPPED;
    this.stoppingReasonMessage = (state.stoppingReasonMessage as string | null | undefined) ?? null;
  }

  override onTrainEpochEnd(trainer: Trainer, _module: LightningModule): void {
    if (!this.checkOnTrainEpochEndFlag || this.shouldSkipCheck(trainer)) return;
    this.runEarlyStoppingCheck(trainer);
  }

  override onValidationEnd(trainer: Trainer, _module: LightningModule): void {
    if (this.checkOnTrainEpochEndFlag || this.shouldSkipCheck(trainer)) return;
    this.runEarlyStoppingCheck(trainer);
  }

  private shouldSkipCheck(trainer: Trainer): boolean {
    return trainer.state.fn !== "fit" || trainer.sanityChecking;
  }

  private validateConditionMetric(logs: Record<string, number>): boolean {
    if (logs[this.monitor] !== undefined) return true;
    const msg =
      `Early stopping conditioned on metric \`${this.monitor}\` which is not available.` +
      " Pass in or modify your `EarlyStopping` callback to use any of the following:" +
      ` \`${Object.keys(logs).join("`, `")}\``;
    if (this.strict) throw new Error(msg);
    if (this.verbose) rankZeroWarn(msg);
    return false;
  }

  private runEarlyStoppingCheck(trainer: Trainer): void {
    const logs = trainer.callbackMetrics;
    // `fastDevRun` exercises the code, it does not train: never stop it early.
    if (trainer.fastDevRun || !this.validateConditionMetric(logs)) return;
    const current = logs[this.monitor];
    const [decision, reason] = this.evaluateStoppingCriteria(current);
    // If any process decides to stop, all stop (they must leave the loop together).
    const shouldStop = reduceBooleanDecision(trainer, decision, false);
    trainer.shouldStop = trainer.shouldStop || shouldStop;
    if (shouldStop) {
      this.stoppedEpoch = trainer.currentEpoch;
      this.stoppingReasonMessage = reason;
    }
    if (reason && this.verbose) this.logInfo(trainer, reason);
  }

  /** One check: whether to stop, and the message explaining the outcome (null when there is nothing to say). */
  private evaluateStoppingCriteria(current: number): [boolean, string | null] {
    let shouldStop = false;
    let reason: string | null = null;
    const order = this.mode === "min" ? "<" : ">";
    if (this.checkFinite && !Number.isFinite(current)) {
      shouldStop = true;
      this.stoppingReason = EarlyStoppingReason.NON_FINITE_METRIC;
      reason =
        `Monitored metric ${this.monitor} = ${pyFloatRepr(current)} is not finite.` +
        ` Previous best value was ${fmt3(this.bestScore)}. Signaling Trainer to stop.`;
    } else if (this.stoppingThreshold !== null && this.monitorOp(current, this.stoppingThreshold)) {
      shouldStop = true;
      this.stoppingReason = EarlyStoppingReason.STOPPING_THRESHOLD;
      reason =
        "Stopping threshold reached:" +
        ` ${this.monitor} = ${pyFloatRepr(current)} ${order} ${pyFloatRepr(this.stoppingThreshold)}.` +
        " Signaling Trainer to stop.";
    } else if (this.divergenceThreshold !== null && this.monitorOp(-current, -this.divergenceThreshold)) {
      shouldStop = true;
      this.stoppingReason = EarlyStoppingReason.DIVERGENCE_THRESHOLD;
      reason =
        "Divergence threshold reached:" +
        ` ${this.monitor} = ${pyFloatRepr(current)} ${order} ${pyFloatRepr(this.divergenceThreshold)}.` +
        " Signaling Trainer to stop.";
    } else if (this.monitorOp(current - this.minDelta, this.bestScore)) {
      reason = this.improvementMessage(current);
      this.bestScore = current;
      this.waitCount = 0;
    } else {
      this.waitCount += 1;
      if (this.waitCount >= this.patience) {
        shouldStop = true;
        this.stoppingReason = EarlyStoppingReason.PATIENCE_EXHAUSTED;
        reason =
          `Monitored metric ${this.monitor} did not improve in the last ${this.waitCount} records.` +
          ` Best score: ${fmt3(this.bestScore)}. Signaling Trainer to stop.`;
      }
    }
    return [shouldStop, reason];
  }

  private improvementMessage(current: number): string {
    if (Number.isFinite(this.bestScore)) {
      return (
        `Metric ${this.monitor} improved by ${fmt3(Math.abs(this.bestScore - current))} >=` +
        ` min_delta = ${pyFloatRepr(Math.abs(this.minDelta))}. New best score: ${fmt3(current)}`
      );
    }
    return `Metric ${this.monitor} improved. New best score: ${fmt3(current)}`;
  }

  private logInfo(trainer: Trainer, message: string): void {
    if (!infoEnabled()) return;
    const rank = trainer.worldSize > 1 ? trainer.globalRank : null;
    if (rank !== null && this.logRankZeroOnly && rank !== 0) return;
    const text = rankPrefixedMessage(message, rank);
    // Rank 0 prints around the progress bar; other ranks have no bar to protect.
    if (trainer.isGlobalZero) trainer.print(text);
    else console.log(text);
  }
}

function fmt3(x: number): string {
  return formatPyNumber(pyFloat(x), ".3f");
}

function toNumber(v: unknown): number {
  if (typeof v === "number") return v;
  const t = v as { dataSync?: () => ArrayLike<number> };
  if (t && typeof t.dataSync === "function") return t.dataSync()[0];
  return Number(v);
}
