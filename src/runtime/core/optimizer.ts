/**
 * Optimizers as the Trainer sees them (Lightning's `core/optimizer.py`): parsing every shape
 * `configureOptimizers` may return into optimizers + `LRSchedulerConfig`s, and
 * `LightningOptimizer`, the wrapper `this.optimizers()` hands out, whose `step()` routes through
 * the strategy and precision plugin and calls `onBeforeOptimizerStep` (and, in automatic
 * optimisation, gradient clipping) between the closure and the update.
 */
import { Optimizer, type OptimizerStateDict, type ParamGroup } from "../../torch/optim/optimizer.ts";
import { LRScheduler } from "../../torch/optim/lr_scheduler/lr_scheduler.ts";
import { ReduceLROnPlateau } from "../../torch/optim/lr_scheduler/reduce_lr_on_plateau.ts";
import { OneCycleLR } from "../../torch/optim/lr_scheduler/one_cycle_lr.ts";
import { MisconfigurationError } from "../errors.ts";
import type { Strategy } from "../strategies/strategy.ts";
import { rankZeroWarn } from "../utilities/rank_zero.ts";
import { chain, isPromiseLike, type MaybePromise } from "./maybe_async.ts";
import { describeValue } from "../utilities/describe.ts";

/** A scheduler as `configureOptimizers` may return it with its settings (`lr_scheduler` dict). */
export interface LRSchedulerConfigInput {
  scheduler: LRScheduler;
  /** Name for `LearningRateMonitor` (default: `lr-<OptimizerClass>`). */
  name?: string | null;
  /** Step the scheduler every `"epoch"` (default) or every optimizer `"step"`. */
  interval?: "epoch" | "step";
  /** Step it every `frequency` intervals (default 1). */
  frequency?: number;
  /** Metric handed to `scheduler.step(metric)` (required for ReduceLROnPlateau). */
  monitor?: string | null;
  /** Error (true, default) or warn and skip when `monitor` is not among the logged metrics. */
  strict?: boolean;
  /** Whether it is a plateau scheduler (default: `scheduler instanceof ReduceLROnPlateau`). */
  reduceOnPlateau?: boolean;
}

/** Lightning's `LRSchedulerConfig`, all fields resolved. */
export interface LRSchedulerConfig {
  scheduler: LRScheduler;
  name: string | null;
  interval: "epoch" | "step";
  frequency: number;
  reduceOnPlateau: boolean;
  monitor: string | null;
  strict: boolean;
}

/** One entry of the dict form: `{ optimizer, lrScheduler?, monitor? }`. */
export interface OptimizerLRSchedulerConfig {
  optimizer: Optimizer<any>;
  lrScheduler?: LRScheduler | LRSchedulerConfigInput;
  monitor?: string;
}

/** Everything `configureOptimizers()` may return. */
export type OptimizersConfig =
  | Optimizer<any>
  | Optimizer<any>[]
  | [Optimizer<any>[], LRScheduler | LRSchedulerConfigInput | Array<LRScheduler | LRSchedulerConfigInput>]
  | OptimizerLRSchedulerConfig
  | OptimizerLRSchedulerConfig[]
  | null
  | undefined
  | void;

const CONFIG_KEYS = new Set(["scheduler", "name", "interval", "frequency", "monitor", "strict", "reduceOnPlateau"]);
const OPTIM_CONF_KEYS = new Set(["optimizer", "lrScheduler", "monitor"]);

const UNKNOWN_CONFIG =
  "Unknown configuration for model optimizers. Output from `configureOptimizers()` should be one of:\n" +
  " * `Optimizer`\n" +
  " * [`Optimizer`]\n" +
  " * [[`Optimizer`], [`LRScheduler`]]\n" +
  ' * { optimizer: `Optimizer`, lrScheduler (optional): `LRScheduler` | { scheduler, interval, frequency, monitor, strict, name } }\n' +
  " * a list of such objects";

function isOptimizer(x: unknown): x is Optimizer<any> {
  return x instanceof Optimizer;
}

function isPlainObject(x: unknown): x is Record<string, unknown> {
  if (x === null || typeof x !== "object") return false;
  const p = Object.getPrototypeOf(x);
  return p === Object.prototype || p === null;
}

/** Splits `configureOptimizers()`'s output into optimizers, raw scheduler entries and the top-level monitor. */
export function parseOptimizersConfig(conf: unknown): {
  optimizers: Optimizer<any>[];
  schedulers: Array<LRScheduler | LRSchedulerConfigInput>;
  monitor: string | null;
} {
  if (conf === null || conf === undefined) return { optimizers: [], schedulers: [], monitor: null };
  if (isOptimizer(conf)) return { optimizers: [conf], schedulers: [], monitor: null };
  if (Array.isArray(conf) && conf.length === 2 && Array.isArray(conf[0]) && conf[0].every(isOptimizer)) {
    const sch = conf[1] as LRScheduler | LRSchedulerConfigInput | Array<LRScheduler | LRSchedulerConfigInput>;
    return { optimizers: conf[0] as Optimizer<any>[], schedulers: Array.isArray(sch) ? sch : [sch], monitor: null };
  }
  if (isPlainObject(conf)) {
    validateOptimConf(conf);
    if (!isOptimizer(conf.optimizer)) {
      throw new MisconfigurationError(`configureOptimizers(): 'optimizer' must be an optim.Optimizer, got ${describeValue(conf.optimizer)}`);
    }
    return {
      optimizers: [conf.optimizer],
      schedulers: conf.lrScheduler !== undefined ? [conf.lrScheduler as LRScheduler | LRSchedulerConfigInput] : [],
      monitor: (conf.monitor as string | undefined) ?? null,
    };
  }
  if (Array.isArray(conf) && conf.length > 0 && conf.every(isPlainObject)) {
    const dicts = conf as Array<Record<string, unknown>>;
    for (const d of dicts) validateOptimConf(d);
    return {
      optimizers: dicts.map((d) => {
        if (!isOptimizer(d.optimizer)) {
          throw new MisconfigurationError(`configureOptimizers(): 'optimizer' must be an optim.Optimizer, got ${describeValue(d.optimizer)}`);
        }
        return d.optimizer;
      }),
      schedulers: dicts
        .filter((d) => d.lrScheduler !== undefined)
        .map((d) => {
          const s = d.lrScheduler as LRScheduler | LRSchedulerConfigInput;
          // A per-optimizer `monitor` applies to that optimizer's plateau scheduler.
          if (s instanceof LRScheduler) return { scheduler: s, monitor: (d.monitor as string | undefined) ?? null };
          return { ...s, monitor: s.monitor ?? (d.monitor as string | undefined) ?? null };
        }),
      monitor: null,
    };
  }
  if (Array.isArray(conf) && conf.every(isOptimizer)) return { optimizers: [...conf], schedulers: [], monitor: null };
  throw new MisconfigurationError(UNKNOWN_CONFIG);
}

function validateOptimConf(conf: Record<string, unknown>): void {
  const extra = Object.keys(conf).filter((k) => !OPTIM_CONF_KEYS.has(k));
  if (extra.length) rankZeroWarn(`Found unsupported keys in the optimizer configuration: {${extra.map((k) => `'${k}'`).join(", ")}}`);
  if (!("optimizer" in conf)) throw new MisconfigurationError(`configureOptimizers(): the returned object has no 'optimizer' key. ${UNKNOWN_CONFIG}`);
}

/** Lightning's `_configure_schedulers_automatic_opt`. */
export function configureSchedulersAutomatic(
  schedulers: Array<LRScheduler | LRSchedulerConfigInput>,
  monitor: string | null,
): LRSchedulerConfig[] {
  return schedulers.map((entry) => {
    if (entry instanceof LRScheduler) {
      if (entry instanceof ReduceLROnPlateau) {
        if (monitor === null) {
          throw new MisconfigurationError(
            "`configureOptimizers` must include a monitor when a `ReduceLROnPlateau` scheduler is used. For example: " +
              '{ optimizer, lrScheduler: scheduler, monitor: "metric_to_track" }',
          );
        }
        return resolveConfig({ scheduler: entry, reduceOnPlateau: true, monitor });
      }
      return resolveConfig({ scheduler: entry });
    }
    if (!isPlainObject(entry)) {
      throw new MisconfigurationError(`configureOptimizers(): ${describeValue(entry)} is neither an LRScheduler nor an lr scheduler config object`);
    }
    const extra = Object.keys(entry).filter((k) => !CONFIG_KEYS.has(k));
    let cfg: LRSchedulerConfigInput = entry;
    if (extra.length) {
      rankZeroWarn(
        `Found unsupported keys in the lr scheduler dict: {${extra.map((k) => `'${k}'`).join(", ")}}. HINT: remove them from the output of \`configureOptimizers\`.`,
      );
      cfg = Object.fromEntries(Object.entries(entry).filter(([k]) => CONFIG_KEYS.has(k))) as unknown as LRSchedulerConfigInput;
    }
    if (!(cfg.scheduler instanceof LRScheduler)) {
      throw new MisconfigurationError('The lr scheduler dict must have the key "scheduler" with its item being an lr scheduler');
    }
    if (cfg.interval !== undefined && cfg.interval !== "step" && cfg.interval !== "epoch") {
      throw new MisconfigurationError(`The "interval" key in lr scheduler dict must be "step" or "epoch" but is "${String(cfg.interval)}"`);
    }
    const reduceOnPlateau = cfg.reduceOnPlateau ?? cfg.scheduler instanceof ReduceLROnPlateau;
    const mon = cfg.monitor ?? (reduceOnPlateau ? monitor : null);
    if (reduceOnPlateau && (mon === null || mon === undefined)) {
      throw new MisconfigurationError(
        "The lr scheduler dict must include a monitor when a `ReduceLROnPlateau` scheduler is used. For example: " +
          '{ optimizer, lrScheduler: { scheduler, monitor: "your_loss" } }',
      );
    }
    if (cfg.scheduler instanceof OneCycleLR && (cfg.interval ?? "epoch") === "epoch") {
      rankZeroWarn("A `OneCycleLR` scheduler is using 'interval': 'epoch'. Are you sure you didn't mean 'interval': 'step'?");
    }
    return resolveConfig({ ...cfg, reduceOnPlateau, monitor: mon ?? null });
  });
}

/** Lightning's `_configure_schedulers_manual_opt`: the settings that only matter to the automatic loop are ignored. */
export function configureSchedulersManual(schedulers: Array<LRScheduler | LRSchedulerConfigInput>): LRSchedulerConfig[] {
  return schedulers.map((entry) => {
    if (entry instanceof LRScheduler) return resolveConfig({ scheduler: entry });
    const invalid = ["reduceOnPlateau", "monitor", "strict"].filter((k) => k in entry);
    if (invalid.length) {
      rankZeroWarn(
        `The lr scheduler dict contains the key(s) [${invalid.map((k) => `'${k}'`).join(", ")}], but the keys will be ignored. ` +
          "You need to call `lrScheduler.step()` manually in manual optimization.",
      );
    }
    const { reduceOnPlateau: _r, monitor: _m, strict: _s, ...rest } = entry;
    return resolveConfig(rest);
  });
}

function resolveConfig(c: LRSchedulerConfigInput): LRSchedulerConfig {
  const frequency = c.frequency ?? 1;
  if (!Number.isInteger(frequency) || frequency < 1) {
    throw new MisconfigurationError(`The "frequency" key in lr scheduler dict must be a positive integer, got ${describeValue(c.frequency)}`);
  }
  return {
    scheduler: c.scheduler,
    name: c.name ?? null,
    interval: c.interval ?? "epoch",
    frequency,
    reduceOnPlateau: c.reduceOnPlateau ?? c.scheduler instanceof ReduceLROnPlateau,
    monitor: c.monitor ?? null,
    strict: c.strict ?? true,
  };
}

/** Lightning's `_validate_optimizers_attached`. */
export function validateSchedulersAttached(optimizers: Optimizer<any>[], configs: LRSchedulerConfig[]): void {
  for (const c of configs) {
    if (!optimizers.includes(c.scheduler.optimizer)) {
      throw new MisconfigurationError(
        "Some schedulers are attached with an optimizer that wasn't returned from `configureOptimizers`.",
      );
    }
  }
}

/** What `LightningOptimizer.step` needs from the Trainer. */
export interface OptimizerStepContext {
  readonly strategy: Strategy;
  /** `onBeforeOptimizerStep` hooks, then (automatic optimisation) gradient clipping. */
  afterClosure(optimizer: Optimizer<any>): MaybePromise<void>;
}

/**
 * `LightningOptimizer`: what `this.optimizers()` returns. It forwards to the wrapped optimizer
 * (`paramGroups`, `zeroGrad`, `stateDict`, …) and routes `step(closure?)` through the strategy
 * and precision plugin, calling `onBeforeOptimizerStep` after the closure and before the update.
 *
 * `step()` is synchronous when the closure and the hooks are (so `opt.step(); opt.zeroGrad()`
 * works as in Lightning's manual-optimisation examples); when one of them is async it returns a
 * promise — await it. The Trainer waits for any step still pending before the next batch.
 */
export class LightningOptimizer<O extends Optimizer<any> = Optimizer<any>> {
  /** Called before/after every step; the loops count optimizer steps (`globalStep`) through these. */
  onBeforeStep: () => void = noop;
  onAfterStep: () => void = noop;
  private pending: Promise<unknown> | null = null;

  constructor(
    readonly optimizer: O,
    private readonly context: OptimizerStepContext,
  ) {}

  get paramGroups(): O["paramGroups"] {
    return this.optimizer.paramGroups;
  }

  get defaults(): O["defaults"] {
    return this.optimizer.defaults;
  }

  zeroGrad(setToNone = true): void {
    this.optimizer.zeroGrad(setToNone);
  }

  stateDict(): OptimizerStateDict {
    return this.optimizer.stateDict();
  }

  loadStateDict(state: OptimizerStateDict): void {
    this.optimizer.loadStateDict(state);
  }

  /**
   * One optimizer step. `closure` (optional) computes the loss and calls backward; it runs
   * first, then `onBeforeOptimizerStep`, then the update. Returns the closure's result.
   */
  step<T = unknown>(closure?: () => T): MaybePromise<Awaited<T> | undefined> {
    if (closure !== undefined && typeof closure !== "function") {
      throw new MisconfigurationError("When `optimizer.step(closure)` is called, the closure should be callable");
    }
    this.onBeforeStep();
    let result: unknown;
    try {
      // The closure, then `afterClosure` (hooks, clipping), then the update.
      result = this.context.strategy.optimizerStep(this.optimizer, (): MaybePromise<unknown> =>
        chain(closure ? (closure() as MaybePromise<unknown>) : undefined, (out) => chain(this.context.afterClosure(this.optimizer), () => out)),
      );
    } catch (e) {
      this.onAfterStep();
      throw e;
    }
    if (isPromiseLike(result)) {
      const p = Promise.resolve(result).finally(() => this.onAfterStep());
      this.pending = p;
      // The Trainer awaits `settle()`; this keeps an unawaited failing step from being reported twice.
      p.catch(() => {});
      return p as Promise<Awaited<T> | undefined>;
    }
    this.onAfterStep();
    return result as Awaited<T> | undefined;
  }

  /** Resolves once a step started with an async closure or hook has finished (rejects with its error). */
  async settle(): Promise<void> {
    const p = this.pending;
    if (p === null) return;
    this.pending = null;
    await p;
  }

  toString(): string {
    return `LightningOptimizer(${this.optimizer.constructor.name})`;
  }
}

function noop(): void {}

/** Param groups of any optimizer (used by toggleOptimizer). */
export function allParams(optimizer: Optimizer<any>): ParamGroup["params"] {
  return optimizer.paramGroups.flatMap((g) => g.params);
}
