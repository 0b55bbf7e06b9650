import { tf } from "../tf.ts";
import { enableGrad, noGrad } from "../autograd/grad_mode.ts";
import { getGrad, setGrad } from "../autograd/grad_store.ts";

/**
 * `torch.optim.Optimizer`: parameter groups, per-parameter state, `zeroGrad`, `step`, and a
 * state dict in PyTorch's shape. Subclasses implement one group's update in `updateGroup`;
 * the base runs it inside `noGrad` + `tf.tidy`, so updates are never recorded on the tape and
 * every temporary is freed.
 */

/** The hyperparameters every optimizer has. */
export type Hyperparameters = { lr: number };

/** Hyperparameters of an unknown optimizer (what `optim.Optimizer` without arguments sees). */
export type AnyHyperparameters = Hyperparameters & { [key: string]: unknown };

/**
 * One parameter group: its parameters and its hyperparameters. Schedulers change `lr` (and
 * `momentum` / `betas`) here; `initialLr` is set when a scheduler attaches, like PyTorch's
 * `initial_lr`.
 */
export type ParamGroup<H extends Hyperparameters = AnyHyperparameters> = H & {
  params: tf.Variable[];
  initialLr?: number;
  [key: string]: unknown;
};

/** A group as given to the constructor or `addParamGroup`: missing hyperparameters take the defaults. */
export type ParamGroupInput<H extends Hyperparameters = AnyHyperparameters> = Partial<H> & {
  params: tf.Variable | Iterable<tf.Variable>;
  [key: string]: unknown;
};

/** `params` argument: the parameters (`model.parameters()`), or a list of groups. */
export type ParamsInput<H extends Hyperparameters = AnyHyperparameters> =
  Iterable<tf.Variable> | Iterable<ParamGroupInput<H>>;

/** Per-parameter optimizer state: non-trainable variables (buffers) and numbers (`step`). */
export type ParamState = Record<string, tf.Variable | number>;

/**
 * `optimizer.stateDict()`, PyTorch's layout: parameters are numbered across all groups in
 * order, `state` is keyed by that number, each group lists the numbers of its parameters.
 */
export interface OptimizerStateDict {
  state: Record<number, Record<string, tf.Tensor | number>>;
  paramGroups: Array<{ params: number[]; [key: string]: unknown }>;
}

/**
 * How often an optimizer's `step()` ran (schedulers use it to warn about call order). Stored
 * on the instance, not in a WeakMap, so it reads the same through a forwarding Proxy (Lite's
 * wrapped optimizer).
 */
const STEP_CALLS = Symbol.for("lightning-ts.optimizerStepCalls");

export function optimizerStepCalls(optimizer: object): number {
  return (optimizer as { [STEP_CALLS]?: number })[STEP_CALLS] ?? 0;
}

export abstract class Optimizer<H extends Hyperparameters = AnyHyperparameters> {
  /** The hyperparameters given to the constructor, filled in for groups that omit them. */
  readonly defaults: H;
  paramGroups: Array<ParamGroup<H>> = [];
  /** Per-parameter state (momentum buffers, moments, step counts), created on first update. */
  state = new Map<tf.Variable, ParamState>();

  /** State keys held as numbers (a tensor loaded under such a key is read back as a number). */
  protected readonly numberStateKeys: readonly string[] = ["step"];
  /** State keys whose tensors have the parameter's shape (checked by `loadStateDict`). */
  protected readonly paramShapedStateKeys: readonly string[] = [];

  constructor(params: ParamsInput<H>, defaults: H) {
    this.defaults = defaults;
    if (params instanceof tf.Tensor) {
      throw new TypeError(
        `params argument given to the optimizer should be an iterable of tf.Variables or of ` +
          `param groups, but got a single tensor: wrap it in an array`,
      );
    }
    if (params == null || typeof (params as Iterable<unknown>)[Symbol.iterator] !== "function") {
      throw new TypeError(
        `params argument given to the optimizer should be an iterable of tf.Variables or of ` +
          `param groups, but got ${describe(params)}`,
      );
    }
    const list = [...(params as Iterable<unknown>)];
    if (list.length === 0) throw new Error("optimizer got an empty parameter list");
    const groups: ParamGroupInput<H>[] = isGroup(list[0])
      ? (list as ParamGroupInput<H>[])
      : [{ params: list as tf.Variable[] } as unknown as ParamGroupInput<H>];
    for (const g of groups) this.addParamGroup(g);
  }

  /**
   * Adds a group (fine-tuning a layer with its own lr, unfreezing a backbone). Hyperparameters
   * it omits take the optimizer's defaults; a parameter may belong to one group only.
   */
  addParamGroup(group: ParamGroupInput<H>): void {
    if (!isGroup(group)) {
      throw new TypeError(`addParamGroup(): expected an object with a 'params' field, got ${describe(group)}`);
    }
    const raw = group.params;
    const params: unknown[] =
      raw instanceof tf.Tensor
        ? [raw]
        : typeof (raw as Iterable<unknown>)?.[Symbol.iterator] === "function"
          ? [...(raw as Iterable<unknown>)]
          : [raw];
    for (const p of params) {
      if (!(p instanceof tf.Variable)) {
        throw new TypeError(
          `optimizer can only optimize tf.Variables (parameters), but one of the params is ${describe(p)}`,
        );
      }
    }
    const vars = params as tf.Variable[];
    if (new Set(vars).size !== vars.length) {
      throw new Error("optimizer contains a parameter group with duplicate parameters");
    }
    const taken = new Set(this.paramGroups.flatMap((g) => g.params));
    if (vars.some((p) => taken.has(p))) {
      throw new Error("some parameters appear in more than one parameter group");
    }
    const full: Record<string, unknown> = { ...group, params: vars };
    for (const [k, v] of Object.entries(this.defaults)) {
      if (full[k] === undefined) full[k] = Array.isArray(v) ? [...v] : v;
    }
    this.paramGroups.push(full as ParamGroup<H>);
  }

  /**
   * Clears the gradients of every parameter. `setToNone` (the default, as in PyTorch 2) drops
   * them; `false` fills them with zeros instead.
   */
  zeroGrad(setToNone = true): void {
    for (const group of this.paramGroups) {
      for (const p of group.params) {
        const g = getGrad(p);
        if (g == null) continue;
        setGrad(p, setToNone ? null : noGrad(() => tf.zerosLike(g)));
      }
    }
  }

  /**
   * One update of every parameter that has a gradient. With a `closure` (which typically
   * zeroes the grads, recomputes the loss, calls `backward()` and returns the loss), the closure
   * runs first with gradient recording on and its result is returned, as in PyTorch. An async
   * closure is awaited before the update, and `step` then returns its promise.
   */
  step<T = void>(closure?: () => T): T {
    if (closure === undefined) {
      this.update();
      return undefined as T;
    }
    const loss = enableGrad(closure);
    if (loss instanceof Promise) {
      return loss.then((value: unknown) => {
        this.update();
        return value;
      }) as T;
    }
    this.update();
    return loss;
  }

  private update(): void {
    (this as { [STEP_CALLS]?: number })[STEP_CALLS] = optimizerStepCalls(this) + 1;
    noGrad(() =>
      tf.tidy(() => {
        for (const group of this.paramGroups) this.updateGroup(group);
      }),
    );
  }

  /**
   * Updates the parameters of one group (those with a gradient: see `paramsWithGrad`). Runs
   * inside `noGrad` and `tf.tidy`: temporaries need no disposal; state that must survive the
   * step lives in variables created with `stateVariable` and is updated with `assign`.
   */
  protected abstract updateGroup(group: ParamGroup<H>): void;

  /** The group's parameters that have a gradient, with it. Parameters without one are skipped, as in PyTorch. */
  protected paramsWithGrad(group: ParamGroup<H>): Array<[tf.Variable, tf.Tensor]> {
    const out: Array<[tf.Variable, tf.Tensor]> = [];
    for (const p of group.params) {
      const g = getGrad(p);
      if (g == null) continue;
      if (!sameShape(g.shape, p.shape)) {
        throw new Error(
          `${this.constructor.name}.step(): parameter '${p.name}' has shape [${p.shape}] but its grad has shape [${g.shape}]`,
        );
      }
      out.push([p, g]);
    }
    return out;
  }

  /** The state of `p`, created empty on first use. */
  protected stateFor(p: tf.Variable): ParamState {
    let s = this.state.get(p);
    if (!s) {
      s = {};
      this.state.set(p, s);
    }
    return s;
  }

  /**
   * A state buffer: a non-trainable variable, so it outlives the step's `tidy` and step scopes
   * and is never recorded on the tape. `init` defaults to zeros shaped like `p`.
   */
  protected stateVariable(p: tf.Variable, init?: tf.Tensor): tf.Variable {
    return tf.variable(init ?? tf.zerosLike(p), false);
  }

  /**
   * The optimizer's state in PyTorch's layout. Hyperparameters are copied; state tensors are
   * the live buffers (as PyTorch returns references): serialize them, or clone for a snapshot.
   */
  stateDict(): OptimizerStateDict {
    const index = new Map<tf.Variable, number>();
    const paramGroups = this.paramGroups.map((group) => {
      const { params, ...hyper } = group;
      const ids = params.map((p) => {
        if (!index.has(p)) index.set(p, index.size);
        return index.get(p)!;
      });
      return { ...copyHyper(hyper), params: ids };
    });
    const state: OptimizerStateDict["state"] = {};
    for (const [p, s] of this.state) {
      const i = index.get(p);
      if (i !== undefined) state[i] = { ...s };
    }
    return { state, paramGroups };
  }

  /**
   * Restores a `stateDict()` (of an optimizer over the same parameter layout): group
   * hyperparameters (including a scheduler's `lr`, `initialLr`) and per-parameter state. State
   * tensors are copied into the optimizer's own variables, so the caller may dispose its tensors.
   */
  loadStateDict(stateDict: OptimizerStateDict): void {
    if (stateDict == null || typeof stateDict !== "object" || !Array.isArray(stateDict.paramGroups)) {
      throw new TypeError(
        "loadStateDict(): expected an object with 'state' and 'paramGroups' (from optimizer.stateDict())",
      );
    }
    const saved = stateDict.paramGroups;
    if (saved.length !== this.paramGroups.length) {
      throw new Error(
        `loaded state dict has a different number of parameter groups (${saved.length}) than the optimizer (${this.paramGroups.length})`,
      );
    }
    const byIndex = new Map<number, tf.Variable>();
    saved.forEach((g, gi) => {
      const own = this.paramGroups[gi].params;
      if (!Array.isArray(g.params) || g.params.length !== own.length) {
        throw new Error(
          `loaded state dict contains a parameter group that doesn't match the size of optimizer's group ` +
            `(group ${gi}: ${Array.isArray(g.params) ? g.params.length : "no"} saved parameters, ${own.length} in the optimizer)`,
        );
      }
      g.params.forEach((id, k) => byIndex.set(Number(id), own[k]));
    });

    const created: tf.Variable[] = [];
    const newState = new Map<tf.Variable, ParamState>();
    try {
      for (const [key, entries] of Object.entries(stateDict.state ?? {})) {
        const p = byIndex.get(Number(key));
        if (!p)
          throw new Error(`loadStateDict(): state for parameter ${key}, which is in none of the saved paramGroups`);
        const s: ParamState = {};
        for (const [name, value] of Object.entries(entries)) {
          s[name] = this.loadStateValue(p, key, name, value);
          if (s[name] instanceof tf.Variable) created.push(s[name] as tf.Variable);
        }
        newState.set(p, s);
      }
    } catch (e) {
      for (const v of created) v.dispose();
      throw e;
    }

    this.disposeState();
    this.state = newState;
    saved.forEach((g, gi) => {
      const { params: _ids, ...hyper } = g;
      Object.assign(this.paramGroups[gi], copyHyper(hyper));
    });
  }

  private loadStateValue(p: tf.Variable, index: string, name: string, value: unknown): tf.Variable | number {
    if (typeof value === "number") return value;
    if (!(value instanceof tf.Tensor)) {
      throw new TypeError(
        `loadStateDict(): state[${index}].${name} must be a tf.Tensor or a number, got ${describe(value)}`,
      );
    }
    if (value.isDisposed) throw new Error(`loadStateDict(): state[${index}].${name} was already disposed`);
    if (this.numberStateKeys.includes(name)) {
      if (value.size !== 1)
        throw new Error(
          `loadStateDict(): state[${index}].${name} must be a number, got a tensor of shape [${value.shape}]`,
        );
      return value.dataSync()[0];
    }
    if (this.paramShapedStateKeys.includes(name) && !sameShape(value.shape, p.shape)) {
      throw new Error(
        `loadStateDict(): state[${index}].${name} has shape [${value.shape}] but its parameter has shape [${p.shape}]`,
      );
    }
    // The variable shares the tensor's storage (reference-counted), so the caller may dispose
    // its tensor; a later `assign` never writes into it. PyTorch casts state to the param dtype.
    return tf.tidy(() => tf.variable(value.dtype === p.dtype ? value : tf.cast(value, p.dtype), false));
  }

  /** Frees the state buffers (the optimizer stays usable: state is recreated on the next step). */
  dispose(): void {
    this.disposeState();
  }

  private disposeState(): void {
    for (const s of this.state.values()) {
      for (const v of Object.values(s)) if (v instanceof tf.Variable && !v.isDisposed) v.dispose();
    }
    this.state = new Map();
  }
}

function isGroup(x: unknown): x is { params: unknown } {
  return x != null && typeof x === "object" && !(x instanceof tf.Tensor) && "params" in x;
}

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

function copyHyper(hyper: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(hyper)) out[k] = Array.isArray(v) ? [...v] : v;
  return out;
}

function describe(x: unknown): string {
  if (x === null) return "null";
  if (x instanceof tf.Tensor) return `a tf.Tensor of shape [${x.shape}] (not a tf.Variable)`;
  if (typeof x === "object") return `an object (${(x as object).constructor?.name ?? "Object"})`;
  return `${typeof x} ${String(x)}`;
}

/** Fills `defaults` with the options that are given (`undefined` keeps the default). */
export function withDefaults<D extends object>(defaults: D, options: Partial<D> | undefined): D {
  const out: Record<string, unknown> = { ...(defaults as Record<string, unknown>) };
  for (const [k, v] of Object.entries(options ?? {})) if (v !== undefined) out[k] = v;
  return out as D;
}
