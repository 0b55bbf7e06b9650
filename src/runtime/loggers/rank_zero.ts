/**
 * Rank-zero-only execution, as Lightning's `rank_zero_only`.
 *
 * In a distributed run every process executes the same script, but only one may write log files
 * (otherwise N processes race on `version_N` directories and interleave `metrics.csv`). Lightning
 * answers with a decorator whose `.rank` attribute the strategy sets once the process group is
 * up; before that the rank comes from the launcher's environment. Here `rankZeroOnly` is that
 * decorator (a function wrapper) and `rankZeroOnly.rank` the same injectable attribute.
 */

/** Environment variables that carry a process's global rank, in Lightning's order of trust. */
export const RANK_ENV_KEYS = ["RANK", "LOCAL_RANK", "SLURM_PROCID", "JSM_NAMESPACE_RANK"] as const;

/**
 * The rank the launcher gave this process: the first of `RANK_ENV_KEYS` that is set, or 0 when
 * none is (a single-process run). A set but non-integer value is a launcher bug that would
 * otherwise make every process think it is rank 0, so it is an error.
 */
export function rankFromEnv(env: NodeJS.ProcessEnv = process.env): number {
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
