/**
 * `LearningRateMonitor` (Lightning 2.x's `lightning.pytorch.callbacks.LearningRateMonitor`):
 * logs the learning rate of every optimizer (and, optionally, its momentum and weight decay)
 * to the Trainer's loggers.
 *
 *   new Trainer({ callbacks: [new LearningRateMonitor({ loggingInterval: "step" })] })
 *
 * Keys are Lightning's: `lr-<OptimizerClass>` (`lr-Adam`), `lr-Adam-1` for a second Adam,
 * `lr-SGD/pg1`, `lr-SGD/pg2` for an optimizer with several parameter groups (or
 * `lr-SGD/<name>` for groups given a `name`), the scheduler config's `name` instead of
 * `lr-<Class>` when set, and `-momentum` / `-weight_decay` appended for those values. Values
 * are logged at the optimizer-step index the Trainer's own step metrics use, at the start of a
 * batch (every `logEveryNSteps`) for step-interval schedulers and at the start of an epoch for
 * epoch-interval ones; `loggingInterval` forces one of the two for all.
 */
import type { Optimizer } from "../../torch/optim/optimizer.ts";
import type { LRSchedulerConfig } from "../core/optimizer.ts";
import { MisconfigurationError } from "../errors.ts";
import { rankZeroWarn } from "../utilities/rank_zero.ts";
import type { LightningModule } from "../core/module.ts";
import type { Trainer } from "../trainer/trainer.ts";
import { Callback } from "./callback.ts";
import { checkOptionKeys, optionKeys } from "../utilities/option_keys.ts";

export interface LearningRateMonitorOptions {
  /** `"step"` or `"epoch"` for all optimizers; default: each scheduler's own `interval` (optimizers without a scheduler: every step). */
  loggingInterval?: "step" | "epoch" | null;
  /** Also log the momentum (`betas[0]` for Adam-like optimizers), under `<name>-momentum`. */
  logMomentum?: boolean;
  /** Also log the weight decay, under `<name>-weight_decay`. */
  logWeightDecay?: boolean;
  /** Prefix every key (e.g. `"train/"`). */
  logKeyPrefix?: string | null;
}

/** Checked in the constructor (utilities/option_keys.ts). */
const OPTION_KEYS = optionKeys<LearningRateMonitorOptions>()(["loggingInterval", "logMomentum", "logWeightDecay", "logKeyPrefix"]);

/** Optimizer class → how many of that class were seen (names `Adam`, `Adam-1`, …). */
type SeenTypes = Map<Function, number>;

export class LearningRateMonitor extends Callback {
  readonly loggingInterval: "step" | "epoch" | null;
  readonly logMomentum: boolean;
  readonly logWeightDecay: boolean;
  readonly logKeyPrefix: string;
  /** Every learning rate logged so far, by key. */
  lrs: Record<string, number[]> = {};
  lastMomentumValues: Record<string, number | null> = {};
  lastWeightDecayValues: Record<string, number | null> = {};

  constructor(options: LearningRateMonitorOptions = {}) {
    super();
    checkOptionKeys(options, OPTION_KEYS, "LearningRateMonitor");
    const interval = options.loggingInterval ?? null;
    if (interval !== null && interval !== "step" && interval !== "epoch") {
      throw new MisconfigurationError("loggingInterval should be `step` or `epoch` or `None`.");
    }
    this.loggingInterval = interval;
    this.logMomentum = options.logMomentum ?? false;
    this.logWeightDecay = options.logWeightDecay ?? false;
    this.logKeyPrefix = options.logKeyPrefix ?? "";
  }

  override onTrainStart(trainer: Trainer, _module: LightningModule): void {
    if (trainer.loggers.length === 0) {
      throw new MisconfigurationError("Cannot use `LearningRateMonitor` callback with `Trainer` that has no logger.");
    }
    if (this.logMomentum) {
      const lacks = (key: string): boolean => {
        if (trainer.lrSchedulerConfigs.length > 0) {
          return trainer.lrSchedulerConfigs.some((c) => !(key in c.scheduler.optimizer.defaults));
        }
        return trainer.optimizers.some((o) => !(key in unwrapOptimizer(o).defaults));
      };
      if (lacks("momentum") && lacks("betas")) {
        rankZeroWarn(
          "You have set logMomentum=True, but some optimizers do not" + " have momentum. This will log a value 0 for the momentum.",
        );
      }
    }
    const names: string[][] = [];
    const { names: schedNames, seenOptimizers, seenTypes } = this.findNamesFromSchedulers(trainer.lrSchedulerConfigs);
    names.push(...schedNames);
    names.push(...this.findNamesFromOptimizers(trainer.optimizers, seenOptimizers, seenTypes).names);
    const flat = names.flat();
    this.lrs = Object.fromEntries(flat.map((n) => [n, [] as number[]]));
    this.lastMomentumValues = Object.fromEntries(flat.map((n) => [`${n}-momentum`, null]));
    this.lastWeightDecayValues = Object.fromEntries(flat.map((n) => [`${n}-weight_decay`, null]));
  }

  override onTrainBatchStart(trainer: Trainer, _module: LightningModule, _batch: unknown, _batchIdx: number): void {
    if (!shouldUpdateLogs(trainer)) return;
    if (this.loggingInterval !== "epoch") {
      const interval = this.loggingInterval === null ? "step" : "any";
      this.logStats(trainer, this.extractStats(trainer, interval));
    }
  }

  override onTrainEpochStart(trainer: Trainer, _module: LightningModule): void {
    if (this.loggingInterval !== "step") {
      const interval = this.loggingInterval === null ? "epoch" : "any";
      this.logStats(trainer, this.extractStats(trainer, interval));
    }
  }

  private logStats(trainer: Trainer, stats: Record<string, number>): void {
    if (Object.keys(stats).length === 0) return;
    const step = batchesThatStepped(trainer);
    for (const logger of trainer.loggers) logger.logMetrics(stats, step);
  }

  /** The current values for the schedulers of `interval` (`"any"`: all) and for every optimizer without a scheduler. */
  private extractStats(trainer: Trainer, interval: "step" | "epoch" | "any"): Record<string, number> {
    const latest: Record<string, number> = {};
    const configs = trainer.lrSchedulerConfigs;
    const { names: schedNames, seenOptimizers, seenTypes } = this.findNamesFromSchedulers(configs);
    this.remapKeys(schedNames);
    configs.forEach((config, i) => {
      if (interval === "any" || config.interval === interval) {
        Object.assign(latest, this.optimizerStats(config.scheduler.optimizer, schedNames[i]));
      }
    });
    const { names: optNames, optimizersWithoutScheduler } = this.findNamesFromOptimizers(trainer.optimizers, seenOptimizers, seenTypes);
    this.remapKeys(optNames);
    optimizersWithoutScheduler.forEach((opt, i) => Object.assign(latest, this.optimizerStats(opt, optNames[i])));
    // Lightning also makes them monitorable (a ReduceLROnPlateau or an EarlyStopping on the lr).
    Object.assign(trainer.callbackMetrics, latest);
    return latest;
  }

  private optimizerStats(optimizer: Optimizer, names: string[]): Record<string, number> {
    const stats: Record<string, number> = {};
    const useBetas = "betas" in optimizer.defaults;
    optimizer.paramGroups.forEach((pg, i) => {
      const name = names[i];
      if (name === undefined) return;
      const lr = pg.lr;
      (this.lrs[name] ??= []).push(lr);
      stats[name] = lr;
      if (this.logMomentum) {
        const betas = pg.betas as readonly number[] | undefined;
        const momentum = useBetas ? (betas?.[0] ?? 0) : ((pg.momentum as number | undefined) ?? 0);
        this.lastMomentumValues[`${name}-momentum`] = momentum;
        stats[`${name}-momentum`] = momentum;
      }
      if (this.logWeightDecay) {
        const wd = (pg.weightDecay as number | undefined) ?? 0;
        this.lastWeightDecayValues[`${name}-weight_decay`] = wd;
        stats[`${name}-weight_decay`] = wd;
      }
    });
    return stats;
  }

  /** An optimizer that gained parameter groups renames `lr-X` to `lr-X/pg1`: carry its history over. */
  private remapKeys(names: string[][], token = "/pg1"): void {
    for (const group of names) {
      for (const newName of group) {
        const oldName = newName.replace(token, "");
        if (newName.includes(token) && oldName in this.lrs) {
          this.lrs[newName] = this.lrs[oldName];
          delete this.lrs[oldName];
        } else if (!(newName in this.lrs)) {
          this.lrs[newName] = [];
        }
      }
    }
  }

  private findNamesFromSchedulers(configs: readonly LRSchedulerConfig[]): {
    names: string[][];
    seenOptimizers: Optimizer[];
    seenTypes: SeenTypes;
  } {
    const names: string[][] = [];
    const seenOptimizers: Optimizer[] = [];
    const seenTypes: SeenTypes = new Map();
    for (const config of configs) {
      const opt = config.scheduler.optimizer;
      const name = config.name !== null && config.name !== undefined ? config.name : `lr-${opt.constructor.name}`;
      names.push(this.checkDuplicatesAndUpdateName(opt, name, seenOptimizers, seenTypes, config));
    }
    return { names, seenOptimizers, seenTypes };
  }

  private findNamesFromOptimizers(
    optimizers: readonly unknown[],
    seenOptimizers: Optimizer[],
    seenTypes: SeenTypes,
  ): { names: string[][]; optimizersWithoutScheduler: Optimizer[] } {
    const names: string[][] = [];
    const optimizersWithoutScheduler: Optimizer[] = [];
    for (const o of optimizers) {
      const opt = unwrapOptimizer(o);
      if (seenOptimizers.includes(opt)) continue;
      names.push(this.checkDuplicatesAndUpdateName(opt, `lr-${opt.constructor.name}`, seenOptimizers, seenTypes, null));
      optimizersWithoutScheduler.push(opt);
    }
    return { names, optimizersWithoutScheduler };
  }

  private checkDuplicatesAndUpdateName(
    optimizer: Optimizer,
    name: string,
    seenOptimizers: Optimizer[],
    seenTypes: SeenTypes,
    config: LRSchedulerConfig | null,
  ): string[] {
    seenOptimizers.push(optimizer);
    const cls = optimizer.constructor;
    // A scheduler named by the user does not take part in the `-1`, `-2` numbering.
    if (config === null || config.name === null || config.name === undefined) seenTypes.set(cls, (seenTypes.get(cls) ?? 0) + 1);
    const groups = optimizer.paramGroups;
    const duplicates = duplicateParamGroupNames(groups);
    if (duplicates.size > 0) {
      throw new MisconfigurationError(
        "A single `Optimizer` cannot have multiple parameter groups with identical " +
          `\`name\` values. ${name} has duplicated parameter group names {${[...duplicates].map((d) => `'${d}'`).join(", ")}}`,
      );
    }
    const count = seenTypes.get(cls);
    const prefixed = count !== undefined && count > 1 ? `${name}-${count - 1}` : name;
    let out = groups.map((_, i) => addSuffix(prefixed, groups, i));
    if (this.logKeyPrefix) out = out.map((n) => `${this.logKeyPrefix}${n}`);
    return out;
  }
}

function groupName(pg: Record<string, unknown>): string | undefined {
  const n = pg.name;
  return typeof n === "string" ? n : n === undefined || n === null ? undefined : String(n);
}

function addSuffix(name: string, groups: ReadonlyArray<Record<string, unknown>>, i: number): string {
  if (groups.length > 1) return `${name}/${groupName(groups[i]) ?? `pg${i + 1}`}`;
  const pgName = groupName(groups[i]);
  return pgName ? `${name}/${pgName}` : name;
}

function duplicateParamGroupNames(groups: ReadonlyArray<Record<string, unknown>>): Set<string> {
  const names = groups.map((pg, i) => groupName(pg) ?? `pg${i + 1}`);
  const seen = new Set<string>();
  const dup = new Set<string>();
  for (const n of names) {
    if (seen.has(n)) dup.add(n);
    seen.add(n);
  }
  return dup;
}

/** The torch optimizer behind a wrapper (`LightningOptimizer.optimizer`), as Lightning's `optimizer.optimizer`. */
function unwrapOptimizer(o: unknown): Optimizer {
  const inner = (o as { optimizer?: unknown }).optimizer;
  return (inner !== undefined && inner !== null ? inner : o) as Optimizer;
}

/** Batches that stepped the optimizers in this fit: the x-axis of the Trainer's step metrics. */
function batchesThatStepped(trainer: Trainer): number {
  return trainer.fitLoop.epochLoop.batchesThatStepped;
}

/** Whether the Trainer sends step metrics to the loggers after this batch (`logEveryNSteps`, or a stop was requested). */
function shouldUpdateLogs(trainer: Trainer): boolean {
  return trainer._loggerConnector.shouldUpdateLogs;
}
