/**
 * Hook dispatch (Lightning's `trainer/call.py`): callbacks first, in order, then the
 * LightningModule; each call profiled as `[Callback]<stateKey>.<hook>` or
 * `[LightningModule]<Class>.<hook>` (snake_case, as Lightning's reports), and with the module's
 * current hook name set so `this.log` knows where it is called from.
 *
 * Dispatch is synchronous until a hook returns a promise (see core/maybe_async.ts): the loops
 * await the result, and the manual-optimisation paths stay synchronous for synchronous hooks.
 * Callback hooks still equal to the `Callback` base class's no-ops are skipped.
 */
import { Callback, type CallbackHookName } from "../callbacks/callback.ts";
import { moduleInternals, type LightningModule, type ModuleInternals } from "../core/module.ts";
import type { LightningDataModule } from "../core/datamodule.ts";
import { isPromiseLike, type MaybePromise } from "../core/maybe_async.ts";
import type { Profiler } from "../profilers/profiler.ts";
import type { Trainer } from "./trainer.ts";

const BASE = Callback.prototype as unknown as Record<string, unknown>;
const SNAKE = new Map<string, string>();

/** `onTrainBatchEnd` → `on_train_batch_end` (cached; profiler action names). */
export function snake(name: string): string {
  let s = SNAKE.get(name);
  if (s === undefined) {
    s = name.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
    SNAKE.set(name, s);
  }
  return s;
}

/** The default `args` (one shared array: no allocation per hook call). */
const NO_ARGS: readonly unknown[] = [];

/**
 * Calls `hook(trainer, module, ...args)` on every callback. `monitoring` selects the
 * monitoring callbacks (true) or the others (false); undefined calls all.
 */
export function callCallbackHooks(
  trainer: Trainer,
  hook: CallbackHookName,
  args: readonly unknown[] = NO_ARGS,
  monitoring?: boolean,
): MaybePromise<void> {
  const callbacks = trainer.callbacks;
  // Most hooks are implemented by no callback: then nothing is touched at all.
  const first = nextImplementing(callbacks, 0, hook, monitoring);
  if (first === callbacks.length) return;
  const module = trainer._model;
  const internals = module ? moduleInternals(module) : null;
  const run: CallbackHookRun = { trainer, callbacks, hook, args, monitoring, module, internals, prevFx: internals ? internals.currentFxName : null };
  if (internals) internals.currentFxName = hook;
  return callFrom(run, first);
}

interface CallbackHookRun {
  trainer: Trainer;
  callbacks: Callback[];
  hook: CallbackHookName;
  args: readonly unknown[];
  monitoring: boolean | undefined;
  module: LightningModule | null;
  internals: ModuleInternals | null;
  prevFx: string | null;
}

/** The index of the first callback from `i` that implements `hook` (and matches `monitoring`), or `callbacks.length`. */
function nextImplementing(callbacks: Callback[], i: number, hook: CallbackHookName, monitoring: boolean | undefined): number {
  const base = BASE[hook];
  for (; i < callbacks.length; i++) {
    const cb = callbacks[i];
    if ((cb as unknown as Record<string, unknown>)[hook] === base) continue;
    if (monitoring !== undefined && cb.isMonitoringCallback !== monitoring) continue;
    return i;
  }
  return i;
}

// Plain functions over a state object rather than closures made per call: this runs several
// times per training step.
function callFrom(run: CallbackHookRun, i: number): MaybePromise<void> {
  const { trainer, callbacks, hook, module } = run;
  const profiler = trainer.profiler;
  for (i = nextImplementing(callbacks, i, hook, run.monitoring); i < callbacks.length; i = nextImplementing(callbacks, i + 1, hook, run.monitoring)) {
    const cb = callbacks[i];
    const fn = (cb as unknown as Record<string, unknown>)[hook] as (...a: unknown[]) => unknown;
    const action = profiler.records ? `[Callback]${cb.stateKey}.${snake(hook)}` : "";
    if (action) profiler.start(action);
    let r: unknown;
    try {
      r = fn.call(cb, trainer, module, ...run.args);
    } catch (e) {
      if (action) profiler.stop(action);
      restoreFx(run);
      throw e;
    }
    if (isPromiseLike(r)) {
      const next = i + 1;
      return Promise.resolve(r).then(
        () => {
          if (action) profiler.stop(action);
          return callFrom(run, next);
        },
        (e) => {
          if (action) profiler.stop(action);
          restoreFx(run);
          throw e;
        },
      );
    }
    if (action) profiler.stop(action);
  }
  restoreFx(run);
}

function restoreFx(run: CallbackHookRun): void {
  if (run.internals) run.internals.currentFxName = run.prevFx;
}

/** Calls the LightningModule's `hook(...args)` and returns what it returns. */
export function callModuleHook<R = unknown>(
  trainer: Trainer,
  hook: string,
  args: readonly unknown[] = NO_ARGS,
  module: LightningModule | null = trainer._model,
): MaybePromise<R> {
  if (module === null) throw new Error(`callModuleHook(${hook}): no LightningModule is attached to the Trainer`);
  const fn = (module as unknown as Record<string, unknown>)[hook];
  if (typeof fn !== "function") return undefined as R;
  const internals = moduleInternals(module);
  const prevFx = internals.currentFxName;
  internals.currentFxName = hook;
  const profiler = trainer.profiler;
  const action = profiler.records ? `[LightningModule]${module.constructor.name}.${snake(hook)}` : "";
  if (action) profiler.start(action);
  let r: unknown;
  try {
    r = (fn as (...a: unknown[]) => unknown).apply(module, args as unknown[]);
  } catch (e) {
    endModuleHook(profiler, action, internals, prevFx);
    throw e;
  }
  if (isPromiseLike(r)) {
    return Promise.resolve(r).then(
      (v) => {
        endModuleHook(profiler, action, internals, prevFx);
        return v as R;
      },
      (e) => {
        endModuleHook(profiler, action, internals, prevFx);
        throw e;
      },
    );
  }
  endModuleHook(profiler, action, internals, prevFx);
  return r as R;
}

function endModuleHook(profiler: Profiler, action: string, internals: ModuleInternals, prevFx: string | null): void {
  if (action) profiler.stop(action);
  internals.currentFxName = prevFx;
}

/** Calls the datamodule's `hook(...args)` (no-op without a datamodule). */
export function callDatamoduleHook<R = unknown>(trainer: Trainer, hook: string, args: readonly unknown[] = NO_ARGS): MaybePromise<R | undefined> {
  const dm: LightningDataModule | null = trainer.datamodule;
  if (dm === null) return undefined;
  const fn = (dm as unknown as Record<string, unknown>)[hook];
  if (typeof fn !== "function") return undefined;
  const profiler = trainer.profiler;
  const action = profiler.records ? `[LightningDataModule]${dm.constructor.name}.${snake(hook)}` : "";
  return action
    ? profiler.profile(action, () => (fn as (...a: unknown[]) => MaybePromise<R>).apply(dm, args as unknown[]))
    : (fn as (...a: unknown[]) => MaybePromise<R>).apply(dm, args as unknown[]);
}

/** `setup(stage)`: datamodule, callbacks, module (Lightning's `_call_setup_hook`). */
export async function callSetupHook(trainer: Trainer): Promise<void> {
  const stage = trainer.state.fn!;
  await trainer.strategy.barrier("pre_setup");
  if (trainer.datamodule !== null) await callDatamoduleHook(trainer, "setup", [stage]);
  await callCallbackHooks(trainer, "setup", [stage]);
  await callModuleHook(trainer, "setup", [stage]);
  await trainer.strategy.barrier("post_setup");
}

/** `teardown(stage)`: datamodule, callbacks, module, then the loggers are finalized and the profiler reports. */
export async function callTeardownHook(trainer: Trainer): Promise<void> {
  const stage = trainer.state.fn!;
  if (trainer.datamodule !== null) await callDatamoduleHook(trainer, "teardown", [stage]);
  await callCallbackHooks(trainer, "teardown", [stage]);
  await callModuleHook(trainer, "teardown", [stage]);
  const module = trainer._model;
  if (module) moduleInternals(module).currentFxName = null;
  for (const logger of trainer.loggers) logger.finalize("success");
  trainer.profiler.describe();
}
