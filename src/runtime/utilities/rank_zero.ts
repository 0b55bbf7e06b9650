/**
 * Rank-zero utilities (Lightning's `lightning.fabric.utilities.rank_zero`): `rankZeroOnly`,
 * `rankZeroWarn`, `rankZeroInfo`, the rank read from the launcher's environment, and the dummy
 * experiment loggers hand out on other ranks.
 *
 * In a distributed run every process executes the same script, but only one may write log files
 * or talk to the user (otherwise N processes race on `version_N` directories, interleave
 * `metrics.csv` and print every message N times). Lightning answers with a decorator whose
 * `.rank` attribute the strategy sets once the process group is up; before that the rank comes
 * from the launcher's environment. Here `rankZeroOnly` is that decorator (a function wrapper)
 * and `rankZeroOnly.rank` the same injectable attribute.
 */
import type { EnvironmentVariables } from "./environment_variables.ts";

/** Environment variables that carry a process's global rank, in Lightning's order of trust. */
export const RANK_ENV_KEYS = ["RANK", "LOCAL_RANK", "SLURM_PROCID", "JSM_NAMESPACE_RANK"] as const;

/**
 * The rank the launcher gave this process: the first of `RANK_ENV_KEYS` that is set, or 0 when
 * none is (a single-process run). A set but non-integer value is a launcher bug that would
 * otherwise make every process think it is rank 0, so it is an error.
 */
export function rankFromEnv(env: EnvironmentVariables = process.env): number {
  for (const key of RANK_ENV_KEYS) {
    const raw = env[key];
    if (raw === undefined) continue;
    const text = raw.trim();
    if (!/^[+-]?\d+$/.test(text)) {
      throw new Error(`${key}=${JSON.stringify(raw)} is not an integer rank`);
    }
    return Number.parseInt(text, 10);
  }
  return 0;
}

export interface RankZeroOnly {
  /** Wraps `fn` so that it runs on rank 0 and returns `undefined` elsewhere. */
  <A extends unknown[], R>(fn: (...args: A) => R): (...args: A) => R | undefined;
  /**
   * This process's global rank. Reads the environment until something assigns it (a strategy
   * after spawning, or a test); assigning `undefined` goes back to the environment.
   */
  get rank(): number;
  set rank(value: number | undefined);
  /** `rank === 0`. */
  readonly isRankZero: boolean;
}

let injectedRank: number | undefined;

function currentRank(): number {
  return injectedRank ?? rankFromEnv();
}

const wrap = <A extends unknown[], R>(fn: (...args: A) => R) =>
  function rankZeroOnlyWrapper(this: unknown, ...args: A): R | undefined {
    return currentRank() === 0 ? fn.apply(this, args) : undefined;
  };

export const rankZeroOnly: RankZeroOnly = Object.defineProperties(wrap, {
  rank: {
    get: currentRank,
    set(value: number | undefined) {
      if (value !== undefined && !(Number.isInteger(value) && value >= 0)) {
        throw new Error(`rankZeroOnly.rank must be a non-negative integer, got ${String(value)}`);
      }
      injectedRank = value;
    },
    enumerable: true,
  },
  isRankZero: { get: () => currentRank() === 0, enumerable: true },
}) as RankZeroOnly;

const warned = new Set<string>();

/**
 * `rank_zero_warn`: a warning printed once per process, on rank 0 only. Python's `warnings`
 * module shows a given warning once per call site; de-duplicating on the text gives the same
 * effect without flooding a long run with repeats.
 */
export function rankZeroWarn(message: string): void {
  if (currentRank() !== 0 || warned.has(message)) return;
  warned.add(message);
  console.warn(`[lightning-ts] ${message}`);
}

/**
 * Whether informational messages are wanted: `LIGHTNING_TS_LOG_LEVEL` at `info` (the default)
 * or `debug`. `warning` (or `error`) silences them, as raising the level of Python's
 * `lightning.pytorch` logger does.
 */
export function infoEnabled(env: EnvironmentVariables = process.env): boolean {
  const level = (env.LIGHTNING_TS_LOG_LEVEL ?? "info").trim().toLowerCase();
  return level === "info" || level === "debug" || level === "";
}

/** What `rankZeroInfo` needs of a Trainer: its rank-0 `print`, routed through the progress bar. */
export interface InfoPrinter {
  print(...args: unknown[]): void;
  /** The Trainer's own word on its rank (its strategy's), when it has one. */
  readonly isGlobalZero?: boolean;
}

/**
 * `rank_zero_info`: Lightning's informational messages ("`Trainer.fit` stopped: `maxEpochs=2`
 * reached.", "GPU available: …"), printed on rank 0 as Lightning's default logging
 * configuration does.
 *
 * Messages sent while a run may have a progress bar on screen pass the Trainer: they are then
 * printed through `trainer.print`, i.e. the progress bar's `print`, which writes above the bars
 * instead of into the middle of a redrawn line. Without a Trainer (its constructor, before any
 * bar exists) they go straight to stdout.
 */
export function rankZeroInfo(message: string, trainer: InfoPrinter | null = null): void {
  if (!(trainer?.isGlobalZero ?? currentRank() === 0) || !infoEnabled()) return;
  if (trainer !== null) trainer.print(message);
  else process.stdout.write(`${message}\n`);
}

/**
 * What a logger's `experiment` is on ranks other than 0, as Lightning's `_DummyExperiment`: every
 * method call on it does nothing, so user code such as `logger.experiment.addScalar(...)` runs
 * unchanged on every rank without creating files there.
 */
export function dummyExperiment<T extends object>(): T {
  const nop = () => undefined;
  return new Proxy(Object.create(null) as object, {
    // `then` must stay undefined, or `await experiment` would treat the proxy as a promise.
    get: (_target, prop) => (prop === "then" ? undefined : nop),
    set: () => true,
  }) as T;
}
