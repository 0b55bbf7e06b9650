/**
 * Sync-when-possible sequencing. Every Lightning hook may be async here, but some call sites
 * must stay synchronous when the user's code is: in manual optimisation, `opt.step()` is
 * usually not awaited (`opt.step(); opt.zeroGrad();` as in Lightning's examples), so the update
 * has to happen before `step()` returns unless a hook really returned a promise. These helpers
 * run the next stage at once after a plain value and chain it after a promise.
 */
export type MaybePromise<T> = T | Promise<T>;

export function isPromiseLike<T = unknown>(x: unknown): x is PromiseLike<T> {
  return x !== null && (typeof x === "object" || typeof x === "function") && typeof (x as PromiseLike<T>).then === "function";
}

/** `fn(value)` now if `value` is plain, after it resolves if it is a promise. */
export function chain<T, R>(value: MaybePromise<T>, fn: (v: T) => MaybePromise<R>): MaybePromise<R> {
  if (isPromiseLike<T>(value)) return Promise.resolve(value).then(fn);
  return fn(value);
}

/** Runs `fns` in order, synchronously until one returns a promise, then chained. */
export function sequence(fns: ReadonlyArray<() => unknown>): MaybePromise<void> {
  return sequenceFrom(fns, 0);
}

// A plain function rather than a closure made per call: `sequence` runs several times per
// training step.
function sequenceFrom(fns: ReadonlyArray<() => unknown>, i: number): MaybePromise<void> {
  while (i < fns.length) {
    const r = fns[i++]();
    if (isPromiseLike(r)) {
      const next = i;
      return Promise.resolve(r).then(() => sequenceFrom(fns, next));
    }
  }
}

/** Runs `fn`, then `after` whether it threw or not (also after an async `fn` settles). */
export function withFinally<T>(fn: () => MaybePromise<T>, after: () => void): MaybePromise<T> {
  let r: MaybePromise<T>;
  try {
    r = fn();
  } catch (e) {
    after();
    throw e;
  }
  if (isPromiseLike<T>(r)) return Promise.resolve(r).finally(after);
  after();
  return r;
}
