import type { Optimizer } from "../optimizer.ts";
import { optimizerStepCalls } from "../optimizer.ts";

/**
 * `torch.optim.lr_scheduler.LRScheduler`. A scheduler writes each group's `lr` (PyTorch's
 * "chainable" recursive forms: every `getLr` reads the group's current lr), and constructing
 * it performs step 0, which records `initialLr` on every group and sets the starting lr.
 *
 * Subclasses set their own fields, then call `this.initialize(lastEpoch)` at the end of their
 * constructor (a base constructor cannot: it runs before the subclass's fields exist).
 */
export abstract class LRScheduler {
  readonly optimizer: Optimizer;
  /** Each group's `initialLr`. */
  baseLrs: number[] = [];
  /** Index of the current epoch (or step, for per-step schedules); -1 before the first step. */
  lastEpoch = -1;
  protected _stepCount = 0;
  protected _lastLr: number[] = [];
  // Kept out of stateDict (private fields are not own enumerable properties).
  #optimizerStepsAtInit = 0;

  constructor(optimizer: Optimizer) {
    if (optimizer == null || !Array.isArray((optimizer as { paramGroups?: unknown }).paramGroups)) {
      throw new TypeError(`${new.target.name}: expected an optimizer (with paramGroups), got ${String(optimizer)}`);
    }
    this.optimizer = optimizer;
  }

  /** PyTorch's `__init__` tail: `initial_lr` bookkeeping, then the initial step. */
  protected initialize(lastEpoch = -1): void {
    const groups = this.optimizer.paramGroups;
    if (lastEpoch === -1) {
      for (const g of groups) if (g.initialLr === undefined) g.initialLr = g.lr;
    } else {
      groups.forEach((g, i) => {
        if (g.initialLr === undefined) {
          throw new Error(
            `param 'initialLr' is not specified in paramGroups[${i}] when resuming an optimizer ` +
              `(lastEpoch = ${lastEpoch}): load the optimizer's stateDict first`,
          );
        }
      });
    }
    this.baseLrs = groups.map((g) => g.initialLr as number);
    this.lastEpoch = lastEpoch;
    this.#optimizerStepsAtInit = optimizerStepCalls(this.optimizer);
    this.step();
  }

  /** The learning rates for `lastEpoch` (called by `step()`; use `getLastLr()` to read them). */
  abstract getLr(): number[];

  /** Advances the schedule by one epoch (or step) and writes the new lr into every group. */
  step(): void {
    if (this._stepCount === 1 && optimizerStepCalls(this.optimizer) === this.#optimizerStepsAtInit) {
      console.warn(
        "Detected call of `lrScheduler.step()` before `optimizer.step()`. Call them in the order " +
          "`optimizer.step()` then `lrScheduler.step()`; otherwise the first value of the learning " +
          "rate schedule is skipped.",
      );
    }
    this._stepCount++;
    this.lastEpoch++;
    const values = this.getLr();
    this.optimizer.paramGroups.forEach((g, i) => {
      g.lr = values[i];
    });
    this._lastLr = this.optimizer.paramGroups.map((g) => g.lr);
  }

  /** The learning rate of each group as last set by this scheduler. */
  getLastLr(): number[] {
    return [...this._lastLr];
  }

  /** Every field except the optimizer, as PyTorch's `state_dict` (plain data, copied). */
  stateDict(): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(this)) {
      if (k === "optimizer" || typeof v === "function") continue;
      out[k] = structuredClone(v);
    }
    return out;
  }

  loadStateDict(stateDict: Record<string, unknown>): void {
    if (stateDict == null || typeof stateDict !== "object") {
      throw new TypeError(`${this.constructor.name}.loadStateDict(): expected an object from stateDict()`);
    }
    for (const [k, v] of Object.entries(stateDict)) {
      if (k === "optimizer") continue;
      (this as Record<string, unknown>)[k] = structuredClone(v);
    }
  }
}

/** A per-group value: one number for all groups, or one per group (PyTorch's `_format_param`). */
export function perGroup(name: string, optimizer: Optimizer, value: number | readonly number[]): number[] {
  const n = optimizer.paramGroups.length;
  if (typeof value === "number") return new Array(n).fill(value);
  if (value.length !== n)
    throw new Error(`expected ${n} values for ${name} (one per param group), got ${value.length}`);
  return [...value];
}

/** Python's `%` (floored), which PyTorch's formulas rely on for negative operands. */
export function pyMod(a: number, b: number): number {
  return ((a % b) + b) % b;
}

export function checkPositiveInt(scheduler: string, name: string, v: unknown): number {
  if (typeof v !== "number" || !Number.isInteger(v) || v <= 0) {
    throw new Error(`${scheduler}: ${name} must be a positive integer, got ${String(v)}`);
  }
  return v;
}
