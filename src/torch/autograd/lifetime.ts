import v8 from "node:v8";
import vm from "node:vm";
import { tf, engineInternals } from "../tf.ts";

/**
 * Tensor lifetime, as in PyTorch: a tensor stays valid while the program references it, and
 * its memory is freed once nothing does. tfjs frees only on `dispose`/`tf.tidy`, so the torch
 * layer lets the JS garbage collector decide:
 *
 * - Every tensor created outside `tf.tidy` and outside a kernel (the results user code holds)
 *   gets a small `Life` record and is registered with a `FinalizationRegistry` whose held
 *   value is that record (dataId, dtype, size: never the tensor). When the tensor object is
 *   collected, the record's data is disposed through the engine, exactly as `dispose()` would.
 * - GC pressure is made real: the JS heap does not see backend (WASM/GPU) bytes, and a
 *   synchronous training loop never yields to the event loop, where finalizers normally run.
 *   So the layer collects itself (a full GC, then a synchronous `cleanupSome()`): at a step
 *   boundary (a step scope closing, `backward()`) once live tensors or backend bytes grew by
 *   the step budget since the last collection and the last one is 100x its own duration ago
 *   (GC time stays under 1% of the run), and on tensor creation past a hard budget whatever
 *   the time (a loop with no boundary at all). Memory is a sawtooth bounded by the budget.
 * - `dispose()` and `tf.tidy` keep working: they mark the record, and its finalizer does
 *   nothing. Using a disposed tensor raises one line naming the op that made it (and, with
 *   `LIGHTNING_TS_TENSOR_SITES=1`, the source line), never a tfjs internal error.
 *
 * V8 exposes `gc` and `FinalizationRegistry.prototype.cleanupSome` only behind flags; both are
 * set for a moment to build one fresh context, then reset, so no other context sees them.
 * Without them (another engine) the registry still frees memory, when the event loop turns.
 */

export interface Life {
  readonly id: number;
  readonly shape: number[];
  readonly dtype: tf.DataType;
  readonly size: number;
  readonly dataId: object;
  /** Disposed (explicitly, by tf.tidy, or after the GC collected the tensor). */
  disposed: boolean;
  /** The op (kernel) that made the tensor, or its source line with LIGHTNING_TS_TENSOR_SITES. */
  site: string;
  /** Gradients flow through it (a recorded op's output). */
  requiresGrad: boolean;
  /** Backward released the graph that produced it. */
  graphFreed: boolean;
  /** Owned by the finalization registry (made outside tf.tidy, or returned from one). */
  registered: boolean;
}

const LIFE = Symbol.for("lightning-ts.life");
type WithLife = tf.Tensor & { [LIFE]?: Life };

export interface CollectionPolicy {
  /** At a step boundary, collect once live tensors / bytes grew this much since the last collection. */
  stepTensors: number;
  stepBytes: number;
  /** ... but not sooner than this many times the last collection's duration after it (GC cost cap). */
  timeRatio: number;
  /** On tensor creation, collect past this growth whatever the time (loops with no boundary). */
  hardTensors: number;
  hardBytes: number;
}

const MiB = 1 << 20;
const budgetMiB = Number(process.env.LIGHTNING_TS_GC_BUDGET_MB ?? 64);
const defaults: CollectionPolicy = {
  stepTensors: 4096,
  stepBytes: budgetMiB * MiB,
  timeRatio: 100,
  hardTensors: 16384,
  hardBytes: 4 * budgetMiB * MiB,
};
const policy: CollectionPolicy = { ...defaults };

/** Changes when the layer collects (tests, memory-tight devices); `null` restores the defaults. */
export function setCollectionPolicy(p: Partial<CollectionPolicy> | null): CollectionPolicy {
  const prev = { ...policy };
  Object.assign(policy, p ?? defaults);
  return prev;
}

type Gc = () => void;
type Registry = FinalizationRegistry<Life> & { cleanupSome?: () => void };

let gc: Gc | null = null;
let registry: Registry;
let sitesOn = process.env.LIGHTNING_TS_TENSOR_SITES === "1";

function finalize(life: Life): void {
  if (life.disposed) return;
  life.disposed = true;
  (engineInternals() as unknown as { disposeTensor(a: unknown): void }).disposeTensor(life);
}

function createRegistry(): void {
  let FR: typeof FinalizationRegistry = FinalizationRegistry;
  try {
    v8.setFlagsFromString("--expose-gc");
    v8.setFlagsFromString("--harmony-weak-refs-with-cleanup-some");
    const ctx = vm.createContext({});
    gc = vm.runInContext("gc", ctx) as Gc;
    FR = vm.runInContext("FinalizationRegistry", ctx) as typeof FinalizationRegistry;
  } catch {
    gc = null;
  } finally {
    try {
      v8.setFlagsFromString("--no-expose-gc");
      v8.setFlagsFromString("--no-harmony-weak-refs-with-cleanup-some");
    } catch {
      // Flags are best effort.
    }
  }
  registry = new FR<Life>(finalize) as Registry;
  if (typeof gc !== "function") gc = null;
}

/** The op that is creating tensors now (set by the tape's kernel hook). */
let creatingOp: string | null = null;

export function setCreatingOp(name: string | null): string | null {
  const prev = creatingOp;
  creatingOp = name;
  return prev;
}

/** Records tensor sites (a stack per tensor, ~2.5 µs each) — LIGHTNING_TS_TENSOR_SITES=1. */
export function setTensorSites(on: boolean): void {
  sitesOn = on;
}

function userSite(): string {
  const holder: { stack?: string } = {};
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = 40;
  Error.captureStackTrace(holder, userSite);
  Error.stackTraceLimit = limit;
  const lines = (holder.stack ?? "").split("\n").slice(1);
  const own = /node_modules|[/\\]tfjs-[a-z-]+[/\\]src[/\\]|[/\\]src[/\\]torch[/\\]|node:internal|\(<anonymous>\)$|<anonymous>$/;
  const frame = lines.find((l) => !own.test(l)) ?? lines[0] ?? "";
  const at = frame.trim().replace(/^at /, "");
  return /\(([^()]+)\)$/.exec(at)?.[1] ?? at;
}

function newLife(t: tf.Tensor): Life {
  const life: Life = {
    id: t.id,
    shape: t.shape,
    dtype: t.dtype,
    size: t.size,
    dataId: t.dataId,
    disposed: t.isDisposed,
    site: sitesOn ? `${creatingOp ?? "tensor"} at ${userSite()}` : (creatingOp ?? "tensor"),
    requiresGrad: false,
    graphFreed: false,
    registered: false,
  };
  (t as WithLife)[LIFE] = life;
  return life;
}

/** The tensor's record, made on first use for tensors the registry does not own. */
export function lifeOf(t: tf.Tensor): Life {
  return (t as WithLife)[LIFE] ?? newLife(t);
}

export function peekLife(t: tf.Tensor): Life | undefined {
  return (t as WithLife)[LIFE];
}

let afterBytes = 0;
let afterTensors = 0;
let lastEnd = 0;
let lastDuration = 0;
let collecting = false;
let state: EngineMemory;
const afterCollect: Array<() => void> = [];

interface EngineMemory {
  numBytes: number;
  numTensors: number;
}

/** Runs after every collection (the tape drops the nodes nothing reaches any more). */
export function onCollected(fn: () => void): void {
  afterCollect.push(fn);
}

function register(t: tf.Tensor): void {
  const life = (t as WithLife)[LIFE] ?? newLife(t);
  if (life.registered) return;
  life.registered = true;
  registry.register(t, life);
  if (state.numTensors - afterTensors > policy.hardTensors || state.numBytes - afterBytes > policy.hardBytes) {
    collect();
  }
}

/**
 * Registers a tensor that was made inside a kernel but handed to the program as a result (a
 * `tf.customGrad` op's value: no op scope re-tracks it after the kernel), when nothing else will.
 */
export function adoptResult<T extends tf.Tensor>(t: T): T {
  const engine = engineInternals();
  if (engine.state.activeScope == null && engine.state.kernelDepth === 0 && !t.isDisposed) register(t);
  return t;
}

/**
 * Frees every registered tensor the program no longer references. Only a full GC clears
 * finalization-registry cells (V8's scavenger treats them as strong, and `gc({type: "minor"})`
 * finalizes nothing: measured), so this is a full GC plus a synchronous `cleanupSome()`.
 */
function collect(): void {
  if (collecting) return;
  collecting = true;
  try {
    if (gc !== null) {
      const t0 = performance.now();
      gc();
      registry.cleanupSome?.();
      lastEnd = performance.now();
      lastDuration = lastEnd - t0;
    }
    afterBytes = state.numBytes;
    afterTensors = state.numTensors;
    for (const fn of afterCollect) fn();
  } finally {
    collecting = false;
  }
}

/**
 * A step ended (a step scope closed, a backward pass began). Frees what V8's own collections
 * found (cheap), and collects when memory grew by the step budget and the last collection is
 * long enough ago that collecting costs at most 1/timeRatio of the run.
 */
export function stepBoundary(): void {
  registry.cleanupSome?.();
  if (state.numTensors - afterTensors <= policy.stepTensors && state.numBytes - afterBytes <= policy.stepBytes) return;
  if (performance.now() - lastEnd < policy.timeRatio * lastDuration) return;
  collect();
}

/** Frees everything unreferenced now (a full GC) and prunes the tape. */
export function collectGarbage(): void {
  collect();
}

/** The one-line error for a tensor used after it was disposed. */
export function freedTensorError(t: tf.Tensor): Error {
  const life = peekLife(t);
  const made = life
    ? `made by ${life.site}`
    : "made inside tf.tidy or a kernel";
  const hint = life && !sitesOn ? " (LIGHTNING_TS_TENSOR_SITES=1 names the source line)" : "";
  return new Error(
    `lightning-ts: a ${t.dtype} tensor of shape [${t.shape}] (id ${t.id}, ${made}) was used after it was disposed by dispose() or tf.tidy${hint}`,
  );
}

let installed = false;

/**
 * Hooks tensor creation (register) and disposal (mark) in the engine. Tensors made inside a
 * kernel are never registered: a kernel may hand their data on as its own output.
 */
export function installLifetimes(): void {
  if (installed) return;
  installed = true;
  createRegistry();
  const engine = engineInternals();
  state = engine.state as unknown as EngineMemory;
  const track = engine.track.bind(engine);
  engine.track = <T extends tf.Tensor>(t: T): T => {
    const result = track(t);
    if (engine.state.activeScope == null && engine.state.kernelDepth === 0) register(t);
    return result;
  };
  const e = engine as unknown as { disposeTensor(a: tf.Tensor): void; endScope(result: unknown): void };
  // An op's result is registered when its tidy scope ends: name the op (`matMul__op`) then.
  const endScope = e.endScope.bind(engine);
  e.endScope = (result: unknown) => {
    const scope = engine.state.activeScope;
    if (creatingOp !== null || scope == null) return endScope(result);
    creatingOp = scope.name.endsWith("__op") ? scope.name.slice(0, -4) : scope.name;
    try {
      endScope(result);
    } finally {
      creatingOp = null;
    }
  };
  const disposeTensor = e.disposeTensor.bind(engine);
  e.disposeTensor = (a: tf.Tensor) => {
    const life = (a as WithLife)[LIFE];
    if (life !== undefined) life.disposed = true;
    disposeTensor(a);
  };
  const proto = tf.Tensor.prototype as unknown as { throwIfDisposed(this: tf.Tensor): void };
  proto.throwIfDisposed = function (this: tf.Tensor) {
    if (this.isDisposed) throw freedTensorError(this);
  };
}
