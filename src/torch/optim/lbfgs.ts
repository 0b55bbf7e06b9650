import { tf } from "../tf.ts";
import { enableGrad, noGrad } from "../autograd/grad_mode.ts";
import { getGrad } from "../autograd/grad_store.ts";
import { Optimizer, withDefaults, type OptimizerStateDict, type ParamGroup, type ParamsInput } from "./optimizer.ts";

export type LBFGSOptions = {
  lr?: number;
  maxIter?: number;
  /** Default: `maxIter · 5/4` (rounded down), as PyTorch's `max_iter * 5 // 4`. */
  maxEval?: number;
  toleranceGrad?: number;
  toleranceChange?: number;
  historySize?: number;
  lineSearchFn?: "strong_wolfe" | null;
};

export type LBFGSHyperparameters = {
  lr: number;
  maxIter: number;
  maxEval: number;
  toleranceGrad: number;
  toleranceChange: number;
  historySize: number;
  lineSearchFn: "strong_wolfe" | null;
};

/** L-BFGS's memory between steps (PyTorch keeps it in the state of the first parameter). */
interface History {
  d: Float32Array | null;
  t: number | null;
  oldDirs: Float32Array[];
  oldStps: Float32Array[];
  ro: number[];
  hDiag: number;
  prevFlatGrad: Float32Array | null;
  prevLoss: number | null;
}

/**
 * The algorithm is written as a generator that yields where it needs a closure evaluation and
 * is resumed with the closure's result: one body serves a synchronous closure (a plain script)
 * and an asynchronous one (the Trainer's automatic-optimisation closure, whose training step and
 * hooks may be async), as PyTorch's one `step(closure)` serves both its callers.
 */
type Evaluate = (x: Float32Array[], t: number, d: Float32Array) => Generator<"evaluate", [number, Float32Array], unknown>;

/**
 * `torch.optim.LBFGS`, a port of PyTorch 1.13's `lbfgs.py` (itself from minFunc / torch7's
 * `lbfgs.lua`): up to `maxIter` quasi-Newton iterations per `step(closure)`, each moving along
 * the two-loop-recursion direction by `lr` (first iteration: `min(1, 1/‖g‖₁)·lr`), or by the
 * step a strong Wolfe line search finds (`lineSearchFn: "strong_wolfe"`). The closure zeroes
 * the grads, recomputes the loss, calls `backward()` and returns the loss; it is called once
 * per function evaluation (at most `maxEval` per step) and `step` returns its first result.
 *
 * One parameter group only. Vectors are flat float32 arrays like PyTorch's flat tensors
 * (rounded to float32 where PyTorch stores a float32 tensor); reductions run in float64. The
 * closure may be asynchronous (the Trainer's is): `step` then returns a promise of the first loss.
 */
export class LBFGS extends Optimizer<LBFGSHyperparameters> {
  protected override readonly numberStateKeys = ["funcEvals", "nIter", "t", "hDiag", "prevLoss"];
  private history: History = emptyHistory();

  constructor(params: ParamsInput<LBFGSHyperparameters>, options: LBFGSOptions = {}) {
    const maxIter = options.maxIter ?? 20;
    super(
      params,
      withDefaults<LBFGSHyperparameters>(
        {
          lr: 1,
          maxIter,
          maxEval: Math.floor((maxIter * 5) / 4),
          toleranceGrad: 1e-7,
          toleranceChange: 1e-9,
          historySize: 100,
          lineSearchFn: null,
        },
        options,
      ),
    );
    if (this.paramGroups.length !== 1) {
      throw new Error("LBFGS doesn't support per-parameter options (parameter groups)");
    }
    checkLineSearch(this.defaults.lineSearchFn);
  }

  override addParamGroup(group: Parameters<Optimizer<LBFGSHyperparameters>["addParamGroup"]>[0]): void {
    if (this.paramGroups.length >= 1) {
      throw new Error("LBFGS doesn't support per-parameter options (parameter groups)");
    }
    super.addParamGroup(group);
  }

  private get params(): tf.Variable[] {
    return this.paramGroups[0].params;
  }

  /** Not used: `step(closure)` does the whole optimisation. */
  protected override updateGroup(_group: ParamGroup<LBFGSHyperparameters>): void {}

  /**
   * Runs up to `maxIter` L-BFGS iterations, calling `closure` for every function evaluation.
   * Returns the closure's first result (the loss before the step), as PyTorch does.
   */
  override step<T = void>(closure?: () => T): T {
    if (typeof closure !== "function") {
      throw new TypeError("LBFGS.step() needs a closure that reevaluates the model and returns the loss");
    }
    // Counts the step for the schedulers' call-order check (the update itself is a no-op).
    super.step();
    let first: { value: unknown } | null = null;
    const evaluate = (): unknown => {
      const out = enableGrad(closure);
      first ??= { value: out };
      return out;
    };
    const steps = this.run();
    let request = steps.next();
    while (!request.done) {
      const out = evaluate();
      if (out instanceof Promise) return this.finishAsync(steps, out, evaluate, first!) as T;
      request = steps.next(out);
    }
    return first!.value as T;
  }

  /** Drives the rest of a step whose closure returned a promise: each evaluation is awaited. */
  private async finishAsync(steps: Generator<"evaluate", void, unknown>, pending: Promise<unknown>, evaluate: () => unknown, first: { value: unknown }): Promise<unknown> {
    const firstLoss = await (first.value as Promise<unknown>);
    let request = steps.next(await pending);
    while (!request.done) request = steps.next(await evaluate());
    return firstLoss;
  }

  /** One L-BFGS step; yields for every closure evaluation and is resumed with its result. */
  private *run(): Generator<"evaluate", void, unknown> {
    const group = this.paramGroups[0];
    const { lr, maxIter, maxEval, toleranceGrad, toleranceChange, lineSearchFn, historySize } = group;
    checkLineSearch(lineSearchFn);

    const state = this.stateFor(this.params[0]);
    state.funcEvals ??= 0;
    state.nIter ??= 0;

    let loss = lossValue(yield "evaluate");
    let currentEvals = 1;
    state.funcEvals = (state.funcEvals as number) + 1;

    let flatGrad = this.gatherFlatGrad();
    let optCond = maxAbs(flatGrad) <= toleranceGrad;
    if (optCond) return;

    let { d, t, oldDirs, oldStps, ro, hDiag, prevFlatGrad, prevLoss } = this.history;

    let nIter = 0;
    while (nIter < maxIter) {
      nIter++;
      state.nIter = (state.nIter as number) + 1;

      // Descent direction.
      if (state.nIter === 1 || d === null || t === null || prevFlatGrad === null) {
        d = scaled(flatGrad, -1);
        oldDirs = [];
        oldStps = [];
        ro = [];
        hDiag = 1;
      } else {
        const y = diff(flatGrad, prevFlatGrad);
        const s = scaled(d, t);
        const ys = f32dot(y, s);
        if (ys > 1e-10) {
          if (oldDirs.length === historySize) {
            oldDirs.shift();
            oldStps.shift();
            ro.shift();
          }
          oldDirs.push(y);
          oldStps.push(s);
          ro.push(Math.fround(1 / ys));
          hDiag = Math.fround(ys / f32dot(y, y));
        }
        // Two-loop recursion: the approximate inverse Hessian times the gradient.
        const numOld = oldDirs.length;
        const al = new Array<number>(numOld);
        const q = scaled(flatGrad, -1);
        for (let i = numOld - 1; i >= 0; i--) {
          al[i] = Math.fround(f32dot(oldStps[i], q) * ro[i]);
          axpy(q, oldDirs[i], -al[i]);
        }
        const r = scaled(q, hDiag);
        for (let i = 0; i < numOld; i++) {
          const be = Math.fround(f32dot(oldDirs[i], r) * ro[i]);
          axpy(r, oldStps[i], al[i] - be);
        }
        d = r;
      }
      prevFlatGrad = flatGrad.slice();
      prevLoss = loss;

      // Step length: PyTorch's `min(1, 1/|g|.sum()) * lr` is a float32 tensor when 1/|g| < 1.
      if (state.nIter === 1) {
        const inv = Math.fround(1 / Math.fround(sumAbs(flatGrad)));
        t = inv < 1 ? Math.fround(inv * lr) : lr;
      } else {
        t = lr;
      }

      const gtd = f32dot(flatGrad, d);
      // The directional derivative is below tolerance: no descent possible along d.
      if (gtd > -toleranceChange) break;

      let lsFuncEvals = 0;
      if (lineSearchFn != null) {
        const xInit = this.cloneParams();
        const objFunc: Evaluate = (x, tt, dd) => this.directionalEvaluate(x, tt, dd);
        [loss, flatGrad, t, lsFuncEvals] = yield* strongWolfe(objFunc, xInit, t, d, loss, flatGrad, gtd, toleranceChange);
        this.addGrad(t, d);
        optCond = maxAbs(flatGrad) <= toleranceGrad;
      } else {
        this.addGrad(t, d);
        if (nIter !== maxIter) {
          // Not re-evaluated after the last iteration: in a stochastic setting it is of no use.
          loss = lossValue(yield "evaluate");
          flatGrad = this.gatherFlatGrad();
          optCond = maxAbs(flatGrad) <= toleranceGrad;
          lsFuncEvals = 1;
        }
      }
      currentEvals += lsFuncEvals;
      state.funcEvals = (state.funcEvals as number) + lsFuncEvals;

      if (nIter === maxIter) break;
      if (currentEvals >= maxEval) break;
      if (optCond) break;
      // Lack of progress.
      if (Math.fround(maxAbs(d) * Math.abs(t)) <= toleranceChange) break;
      if (Math.abs(loss - prevLoss) < toleranceChange) break;
    }

    this.history = { d, t, oldDirs, oldStps, ro, hDiag, prevFlatGrad, prevLoss };
  }

  private gatherFlatGrad(): Float32Array {
    const params = this.params;
    const out = new Float32Array(params.reduce((n, p) => n + p.size, 0));
    let offset = 0;
    for (const p of params) {
      const g = getGrad(p);
      if (g != null) out.set(g.dataSync() as Float32Array, offset);
      offset += p.size;
    }
    return out;
  }

  /** p ← p + stepSize·update[slice of p], for every parameter. */
  private addGrad(stepSize: number, update: Float32Array): void {
    let offset = 0;
    noGrad(() =>
      tf.tidy(() => {
        for (const p of this.params) {
          const slice = update.subarray(offset, offset + p.size);
          p.assign(tf.add(p, tf.mul(tf.tensor(slice, p.shape, p.dtype), stepSize)));
          offset += p.size;
        }
      }),
    );
  }

  private cloneParams(): Float32Array[] {
    return this.params.map((p) => Float32Array.from(p.dataSync() as Float32Array));
  }

  private setParams(values: Float32Array[]): void {
    noGrad(() =>
      tf.tidy(() => {
        this.params.forEach((p, i) => p.assign(tf.tensor(values[i], p.shape, p.dtype)));
      }),
    );
  }

  private *directionalEvaluate(x: Float32Array[], t: number, d: Float32Array): Generator<"evaluate", [number, Float32Array], unknown> {
    this.addGrad(t, d);
    const loss = lossValue(yield "evaluate");
    const flatGrad = this.gatherFlatGrad();
    this.setParams(x);
    return [loss, flatGrad];
  }

  /**
   * PyTorch's layout: the memory is the state of the first parameter (`funcEvals`, `nIter`,
   * `d`, `t`, `oldDirs` and `oldStps` as [k, n] tensors, `ro`, `hDiag`, `prevFlatGrad`,
   * `prevLoss`). The tensors are new: the caller owns them.
   */
  override stateDict(): OptimizerStateDict {
    const out = super.stateDict();
    const h = this.history;
    if (out.state[0] === undefined || h.d === null) return out;
    const n = h.d.length;
    const stack = (rows: Float32Array[]) => {
      const flat = new Float32Array(rows.length * n);
      rows.forEach((r, i) => flat.set(r, i * n));
      return tf.tensor2d(flat, [rows.length, n]);
    };
    Object.assign(out.state[0], {
      d: tf.tensor1d(h.d),
      t: h.t as number,
      oldDirs: stack(h.oldDirs),
      oldStps: stack(h.oldStps),
      ro: tf.tensor1d(Float32Array.from(h.ro)),
      hDiag: h.hDiag,
      prevFlatGrad: tf.tensor1d(h.prevFlatGrad as Float32Array),
      prevLoss: h.prevLoss as number,
    });
    return out;
  }

  override loadStateDict(stateDict: OptimizerStateDict): void {
    super.loadStateDict(stateDict);
    const s = this.state.get(this.params[0]);
    const history = emptyHistory();
    if (s !== undefined) {
      const vec = (k: string) => {
        const v = s[k];
        return v instanceof tf.Variable ? Float32Array.from(v.dataSync() as Float32Array) : null;
      };
      const rows = (k: string) => {
        const v = s[k];
        if (!(v instanceof tf.Variable) || v.rank !== 2) return [];
        const [k2, n] = v.shape;
        const flat = v.dataSync() as Float32Array;
        return Array.from({ length: k2 }, (_, i) => Float32Array.from(flat.subarray(i * n, (i + 1) * n)));
      };
      history.d = vec("d");
      history.prevFlatGrad = vec("prevFlatGrad");
      history.oldDirs = rows("oldDirs");
      history.oldStps = rows("oldStps");
      history.ro = Array.from(vec("ro") ?? []);
      if (typeof s.t === "number") history.t = s.t;
      if (typeof s.hDiag === "number") history.hDiag = s.hDiag;
      if (typeof s.prevLoss === "number") history.prevLoss = s.prevLoss;
      // The memory lives in plain arrays; only the counters stay in `state`.
      for (const [k, v] of Object.entries(s)) {
        if (k === "funcEvals" || k === "nIter") continue;
        if (v instanceof tf.Variable) v.dispose();
        delete s[k];
      }
    }
    this.history = history;
  }

  override dispose(): void {
    super.dispose();
    this.history = emptyHistory();
  }
}

function emptyHistory(): History {
  return { d: null, t: null, oldDirs: [], oldStps: [], ro: [], hDiag: 1, prevFlatGrad: null, prevLoss: null };
}

function checkLineSearch(fn: unknown): void {
  if (fn != null && fn !== "strong_wolfe") {
    throw new Error(`LBFGS: only 'strong_wolfe' is supported as lineSearchFn, got ${JSON.stringify(fn)}`);
  }
}

function lossValue(loss: unknown): number {
  if (typeof loss === "number") return loss;
  if (loss instanceof tf.Tensor) {
    if (loss.size !== 1)
      throw new Error(`LBFGS: the closure must return a one-element loss, got shape [${loss.shape}]`);
    return loss.dataSync()[0];
  }
  throw new TypeError(`LBFGS: the closure must return the loss (a tensor or a number), got ${typeof loss}`);
}

/** Dot product accumulated in float64, rounded to float32 like PyTorch's 0-d float32 result. */
function f32dot(a: Float32Array, b: Float32Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return Math.fround(s);
}

function maxAbs(a: Float32Array): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) {
    const v = Math.abs(a[i]);
    if (v > m || Number.isNaN(v)) m = v;
  }
  return m;
}

function sumAbs(a: Float32Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += Math.abs(a[i]);
  return s;
}

function scaled(a: Float32Array, c: number): Float32Array {
  const out = new Float32Array(a.length);
  for (let i = 0; i < a.length; i++) out[i] = a[i] * c;
  return out;
}

function diff(a: Float32Array, b: Float32Array): Float32Array {
  const out = new Float32Array(a.length);
  for (let i = 0; i < a.length; i++) out[i] = a[i] - b[i];
  return out;
}

/** y ← y + alpha·x (in place, like `add_(x, alpha=…)`). */
function axpy(y: Float32Array, x: Float32Array, alpha: number): void {
  for (let i = 0; i < y.length; i++) y[i] += alpha * x[i];
}

/**
 * The minimiser of the cubic through (x1, f1, f1′ = g1) and (x2, f2, g2), clamped to `bounds`
 * (default: between the two points); the midpoint when the cubic has no real minimiser.
 */
export function cubicInterpolate(
  x1: number,
  f1: number,
  g1: number,
  x2: number,
  f2: number,
  g2: number,
  bounds?: [number, number],
): number {
  const [xminBound, xmaxBound] = bounds ?? (x1 <= x2 ? [x1, x2] : [x2, x1]);
  const d1 = g1 + g2 - (3 * (f1 - f2)) / (x1 - x2);
  const d2Square = d1 * d1 - g1 * g2;
  if (d2Square >= 0) {
    const d2 = Math.sqrt(d2Square);
    const minPos =
      x1 <= x2
        ? x2 - (x2 - x1) * ((g2 + d2 - d1) / (g2 - g1 + 2 * d2))
        : x1 - (x1 - x2) * ((g1 + d2 - d1) / (g1 - g2 + 2 * d2));
    return pyMin(pyMax(minPos, xminBound), xmaxBound);
  }
  return (xminBound + xmaxBound) / 2;
}

// Python's min/max keep the first argument when the comparison is false (NaN included).
function pyMax(a: number, b: number): number {
  return b > a ? b : a;
}
function pyMin(a: number, b: number): number {
  return b < a ? b : a;
}

/**
 * The strong Wolfe line search of PyTorch's `_strong_wolfe` (from torch7's `lswolfe.lua`):
 * bracket a step satisfying sufficient decrease (c1) and the curvature condition (c2), then
 * zoom in by cubic interpolation. Returns the loss, flat gradient and step at the best point,
 * and the number of function evaluations.
 */
function* strongWolfe(
  objFunc: Evaluate,
  x: Float32Array[],
  tInit: number,
  d: Float32Array,
  f: number,
  g: Float32Array,
  gtd: number,
  toleranceChange = 1e-9,
  c1 = 1e-4,
  c2 = 0.9,
  maxLs = 25,
): Generator<"evaluate", [number, Float32Array, number, number], unknown> {
  let t = tInit;
  const dNorm = maxAbs(d);
  let [fNew, gNew] = yield* objFunc(x, t, d);
  let lsFuncEvals = 1;
  let gtdNew = f32dot(gNew, d);

  let tPrev = 0;
  let fPrev = f;
  let gPrev = g;
  let gtdPrev = gtd;
  let done = false;
  let lsIter = 0;
  let bracket: number[] = [];
  let bracketF: number[] = [];
  let bracketG: Float32Array[] = [];
  let bracketGtd: number[] = [];
  while (lsIter < maxLs) {
    if (fNew > f + c1 * t * gtd || (lsIter > 1 && fNew >= fPrev)) {
      bracket = [tPrev, t];
      bracketF = [fPrev, fNew];
      bracketG = [gPrev, gNew];
      bracketGtd = [gtdPrev, gtdNew];
      break;
    }
    if (Math.abs(gtdNew) <= -c2 * gtd) {
      bracket = [t];
      bracketF = [fNew];
      bracketG = [gNew];
      done = true;
      break;
    }
    if (gtdNew >= 0) {
      bracket = [tPrev, t];
      bracketF = [fPrev, fNew];
      bracketG = [gPrev, gNew];
      bracketGtd = [gtdPrev, gtdNew];
      break;
    }
    // Extrapolate: a cubic step between 1.01·t and 10·t.
    const minStep = t + 0.01 * (t - tPrev);
    const maxStep = t * 10;
    const tmp = t;
    t = cubicInterpolate(tPrev, fPrev, gtdPrev, t, fNew, gtdNew, [minStep, maxStep]);
    tPrev = tmp;
    fPrev = fNew;
    gPrev = gNew;
    gtdPrev = gtdNew;
    [fNew, gNew] = yield* objFunc(x, t, d);
    lsFuncEvals++;
    gtdNew = f32dot(gNew, d);
    lsIter++;
  }
  if (lsIter === maxLs) {
    bracket = [0, t];
    bracketF = [f, fNew];
    bracketG = [g, gNew];
  }

  // Zoom: shrink the bracket until a point satisfies the conditions.
  let insufProgress = false;
  let [lowPos, highPos] = bracketF[0] <= bracketF[bracketF.length - 1] ? [0, 1] : [1, 0];
  while (!done && lsIter < maxLs) {
    if (Math.abs(bracket[1] - bracket[0]) * dNorm < toleranceChange) break;
    t = cubicInterpolate(bracket[0], bracketF[0], bracketGtd[0], bracket[1], bracketF[1], bracketGtd[1]);

    // A trial too close to an end of the bracket (twice in a row, or outside it) moves to
    // 0.1·(bracket length) from the nearest end, so the bracket keeps shrinking.
    const bMax = Math.max(...bracket);
    const bMin = Math.min(...bracket);
    const eps = 0.1 * (bMax - bMin);
    if (Math.min(bMax - t, t - bMin) < eps) {
      if (insufProgress || t >= bMax || t <= bMin) {
        t = Math.abs(t - bMax) < Math.abs(t - bMin) ? bMax - eps : bMin + eps;
        insufProgress = false;
      } else {
        insufProgress = true;
      }
    } else {
      insufProgress = false;
    }

    [fNew, gNew] = yield* objFunc(x, t, d);
    lsFuncEvals++;
    gtdNew = f32dot(gNew, d);
    lsIter++;

    if (fNew > f + c1 * t * gtd || fNew >= bracketF[lowPos]) {
      // Armijo condition not met, or not lower than the lowest point: new high end.
      bracket[highPos] = t;
      bracketF[highPos] = fNew;
      bracketG[highPos] = gNew;
      bracketGtd[highPos] = gtdNew;
      [lowPos, highPos] = bracketF[0] <= bracketF[1] ? [0, 1] : [1, 0];
    } else {
      if (Math.abs(gtdNew) <= -c2 * gtd) {
        done = true;
      } else if (gtdNew * (bracket[highPos] - bracket[lowPos]) >= 0) {
        // The old high end becomes the new low end.
        bracket[highPos] = bracket[lowPos];
        bracketF[highPos] = bracketF[lowPos];
        bracketG[highPos] = bracketG[lowPos];
        bracketGtd[highPos] = bracketGtd[lowPos];
      }
      bracket[lowPos] = t;
      bracketF[lowPos] = fNew;
      bracketG[lowPos] = gNew;
      bracketGtd[lowPos] = gtdNew;
    }
  }
  return [bracketF[lowPos], bracketG[lowPos], bracket[lowPos], lsFuncEvals];
}
