// The torch layer's entry installs autograd and selects a backend; Lite needs both.
import { tf } from "../../torch/index.ts";
import type { Device } from "../../torch/device.ts";
import { Module } from "../../torch/nn/module.ts";
import { Optimizer } from "../../torch/optim/optimizer.ts";
import { DataLoader } from "../../torch/data/dataloader.ts";
import { traceLoss, setLossTraceRankCheck } from "../../torch/autograd/loss_trace.ts";
import type { Accelerator } from "../accelerators/accelerator.ts";
import { Connector, type ConnectorOptions } from "../connector.ts";
import { MisconfigurationError } from "../errors.ts";
import type { Precision } from "../plugins/precision/precision.ts";
import { REDUCE_OPS, type ReduceOp, type Strategy } from "../strategies/strategy.ts";
import { applyToCollection, isPlainObject } from "../utilities/apply_to_collection.ts";
import { isTensor } from "../utilities/move_data_to_device.ts";
import { seedEverything } from "../utilities/seed.ts";
import { wrapModule } from "./module_wrapper.ts";
import { wrapOptimizer } from "./optimizer_wrapper.ts";
import { wrapDataLoader } from "./dataloader_wrapper.ts";
import { withDistributedSampler } from "./distributed_sampler.ts";
import { isWrapped, unwrap } from "./wrapped.ts";
import { describeValue } from "../utilities/describe.ts";
import { isPromiseLike } from "../core/maybe_async.ts";
import { DDPSpawnStrategy } from "../strategies/ddp_spawn.ts";
import { spawnWorker } from "../strategies/launchers/multiprocessing.ts";

/** `new Lite({ accelerator, devices, strategy, precision, numNodes, plugins })`. */
export type LightningLiteOptions = ConnectorOptions;

export interface SetupDataloadersOptions {
  /** Insert a DistributedSampler when the strategy splits data across processes (default true). */
  useDistributedSampler?: boolean;
  /** Move each batch to the device (default true). */
  moveToDevice?: boolean;
}

export interface ClipGradientsOptions {
  /** Clip the total gradient norm to this (`clip_grad_norm_`). */
  maxNorm?: number;
  /** Clamp every gradient element to [-clipVal, clipVal] (`clip_grad_value_`). */
  clipVal?: number;
  /** The norm's p (default 2; `Infinity` for the max norm). */
  normType?: number;
  /** Throw when the total norm is NaN or infinite (default true, as Fabric). */
  errorIfNonfinite?: boolean;
}

export interface LiteBackwardOptions {
  /** The model the loss came from, when several were set up (strategies that wrap models need it). */
  model?: Module;
  /** Keep the graph for a second backward through it. */
  retainGraph?: boolean;
  /** dL/d(output) for a non-scalar output. */
  gradient?: tf.Tensor;
}

type DataLoaderAny = DataLoader<any, any>;

/**
 * What a collective returns for `T`: numbers and tensors become tensors, inside arrays and
 * plain objects too; anything else stays as it is.
 */
export type Collected<T> = T extends number
  ? tf.Tensor
  : T extends tf.Tensor
    ? tf.Tensor
    : T extends readonly unknown[]
      ? { [K in keyof T]: Collected<T[K]> }
      : T extends Record<string, unknown>
        ? { [K in keyof T]: Collected<T[K]> }
        : T;

/**
 * LightningLite (Fabric): keep your own training loop, let Lite handle devices, precision and
 * distribution. Subclass it, write the loop in `run()`, and route the model, optimizers,
 * dataloaders and `backward` through it:
 *
 *   class Lite extends LightningLite {
 *     async run(args) {
 *       let model = new Net();
 *       let optimizer = new optim.Adam(model.parameters(), { lr: args.lr });
 *       [model, optimizer] = this.setup(model, optimizer);
 *       const loader = this.setupDataloaders(new data.DataLoader(dataset, { batchSize: 64 }));
 *       for (const [x, y] of loader) { optimizer.zeroGrad(); this.backward(F.crossEntropy(model.forward(x), y)); optimizer.step(); }
 *     }
 *   }
 *   await new Lite({ accelerator: "auto", devices: 1, precision: "32-true" }).run(args);
 *
 * Flags are validated in the constructor (see `Connector`). Making the accelerator's backend
 * active may be asynchronous (WASM compilation, a WebGPU adapter): `run()` waits for it, and so
 * does `await lite.launch()` for code that uses Lite outside `run()`. When the backend is
 * already active — the usual case, the torch layer picks the fastest CPU backend on import —
 * everything is ready from the constructor on and `run()` returns what the subclass's `run`
 * returns, unchanged.
 */
export abstract class LightningLite {
  private readonly connector: Connector;
  private deviceReady = false;
  private devicePromise: Promise<void> | null = null;
  private deviceError: unknown = null;

  /** The training loop. It may be async; it may take any arguments. */
  abstract run(...args: any[]): unknown;

  constructor(options: LightningLiteOptions = {}) {
    this.connector = new Connector(options);
    const strategy = this.connector.strategy;
    // The loss trace is written on global rank 0 only; the strategy knows this process's rank.
    setLossTraceRankCheck(() => strategy.isGlobalZero);

    if (strategy.isEnvironmentReady()) {
      this.deviceReady = true;
    } else if (strategy instanceof DDPSpawnStrategy && spawnWorker() === null) {
      // ddp_spawn: this process only launches the workers that run run() (runSpawned).
      this.deviceReady = true;
    } else {
      this.devicePromise = strategy.setupEnvironment().then(
        () => {
          this.deviceReady = true;
        },
        (e: unknown) => {
          this.deviceError = e;
          throw e;
        },
      );
      // Reported by run()/launch() or the first method that needs the device, not as an
      // unhandled rejection when the constructor's caller never awaits anything.
      this.devicePromise.catch(() => {});
    }

    // Lightning Lite wraps `run` the same way: the user's loop runs once the device is set up.
    const self = this as unknown as { run: (...args: unknown[]) => unknown };
    const userRun = self.run;
    Object.defineProperty(this, "run", {
      value: (...args: unknown[]) => this.runWithSetup(userRun, args),
      writable: true,
      configurable: true,
    });
  }

  private runWithSetup(userRun: (...args: unknown[]) => unknown, args: unknown[]): unknown {
    if (this.strategy instanceof DDPSpawnStrategy) return this.runSpawned(this.strategy, userRun, args);
    if (this.deviceReady) return userRun.apply(this, args);
    return this.launch().then(() => userRun.apply(this, args));
  }

  /**
   * `strategy: "ddp_spawn"` (Fabric's `launch(fn)` with the spawn launcher,
   * DDPSpawnStrategy.runCall): `run()` runs in worker processes and returns here what rank 0's
   * returned.
   */
  private runSpawned(strategy: DDPSpawnStrategy, userRun: (...args: unknown[]) => unknown, args: unknown[]): Promise<unknown> {
    return strategy.runCall<unknown>({
      state: () => ({}),
      skipped: undefined,
      run: async () => {
        await this.launch();
        return userRun.apply(this, args);
      },
      output: (results) => ({ weights: {}, callbackMetrics: {}, results }),
      takeBack: (out) => out.results,
    });
  }

  /** Resolves once the accelerator's backend is active (rejects with the reason it could not start). */
  async launch(): Promise<void> {
    if (this.devicePromise) await this.devicePromise;
  }

  // ---------------------------------------------------------------------------------------
  // Properties

  get strategy(): Strategy {
    return this.connector.strategy;
  }

  get accelerator(): Accelerator {
    return this.connector.accelerator;
  }

  get precision(): Precision {
    return this.connector.strategy.precision;
  }

  /** The device this process computes on (`cpu`, `wasm`, `webgpu`, `cuda:N`). */
  get device(): Device {
    return this.strategy.rootDevice;
  }

  get worldSize(): number {
    return this.strategy.worldSize;
  }

  get globalRank(): number {
    return this.strategy.globalRank;
  }

  get localRank(): number {
    return this.strategy.localRank;
  }

  get nodeRank(): number {
    return this.strategy.nodeRank;
  }

  get isGlobalZero(): boolean {
    return this.strategy.isGlobalZero;
  }

  // ---------------------------------------------------------------------------------------
  // Setup

  /**
   * Sets up a model and its optimizers: moves the model to the device, lets the strategy and
   * precision plugin prepare both, and returns wrappers with the same static types, so
   * `[model, optimizer] = this.setup(model, optimizer)` keeps `Net` and `optim.Adam`.
   */
  setup<M extends Module, O extends Optimizer<any>[]>(model: M, ...optimizers: O): [M, ...O] {
    this.requireDevice("setup");
    const wrappedModel = this.setupModule(model);
    const wrappedOptimizers = this.setupOptimizers(...optimizers);
    return [wrappedModel, ...wrappedOptimizers] as [M, ...O];
  }

  /** Sets up a model alone (Fabric's `setup_module`). */
  setupModule<M extends Module>(model: M): M {
    this.requireDevice("setupModule");
    if (!(model instanceof Module)) {
      throw new TypeError(`setup(): the model must be an nn.Module, got ${describeValue(model)}`);
    }
    if (isWrapped(model)) throw new MisconfigurationError("setup(): this model is already set up; pass each model once");
    let module = this.strategy.precision.convertModule(model);
    this.strategy.moduleToDevice(module);
    module = this.strategy.setupModule(module);
    return wrapModule(module, this.strategy);
  }

  /** Sets up optimizers alone (Fabric's `setup_optimizers`). */
  setupOptimizers<O extends Optimizer<any>[]>(...optimizers: O): O {
    this.requireDevice("setupOptimizers");
    return optimizers.map((opt, i) => {
      if (!(opt instanceof Optimizer)) {
        throw new TypeError(`setup(): optimizer #${i + 1} must be an optim.Optimizer, got ${describeValue(opt)}`);
      }
      if (isWrapped(opt)) throw new MisconfigurationError(`setup(): optimizer #${i + 1} is already set up; pass each optimizer once`);
      return wrapOptimizer(this.strategy.setupOptimizer(opt), this.strategy);
    }) as O;
  }

  /**
   * Sets up dataloaders: each batch is moved to the device, and when the strategy splits data
   * across processes a DistributedSampler is inserted. One loader in, one out; several in, a
   * tuple out — with the same types. Options may follow the loaders.
   */
  setupDataloaders<L extends DataLoaderAny>(loader: L, options?: SetupDataloadersOptions): L;
  setupDataloaders<L extends DataLoaderAny[]>(...args: [...loaders: L, options: SetupDataloadersOptions]): L;
  setupDataloaders<L extends DataLoaderAny[]>(...loaders: L): L;
  setupDataloaders(...args: unknown[]): DataLoaderAny | DataLoaderAny[] {
    this.requireDevice("setupDataloaders");
    let options: SetupDataloadersOptions = {};
    const last = args[args.length - 1];
    if (args.length > 0 && isPlainObject(last)) {
      options = last as SetupDataloadersOptions;
      args = args.slice(0, -1);
    }
    if (args.length === 0) throw new TypeError("setupDataloaders(): pass at least one DataLoader");
    const settings = options.useDistributedSampler === false ? null : this.strategy.distributedSamplerSettings();
    const out = args.map((loader, i) => {
      if (!(loader instanceof DataLoader)) {
        throw new TypeError(`setupDataloaders(): argument #${i + 1} must be a data.DataLoader, got ${describeValue(loader)}`);
      }
      if (isWrapped(loader)) {
        throw new MisconfigurationError(`setupDataloaders(): dataloader #${i + 1} is already set up; pass each dataloader once`);
      }
      const prepared = settings ? withDistributedSampler(loader, settings) : loader;
      return wrapDataLoader(prepared, this.strategy, options.moveToDevice ?? true);
    });
    return out.length === 1 ? out[0] : out;
  }

  // ---------------------------------------------------------------------------------------
  // Training-step operations

  /**
   * `loss.backward()` for Lite: writes the loss to the loss trace (rank 0, before any loss
   * scaling), then backpropagates through the strategy and precision plugin.
   */
  backward(loss: tf.Tensor, options: LiteBackwardOptions = {}): void {
    this.requireDevice("backward");
    if (!isTensor(loss)) throw new TypeError(`backward(): the loss must be a tensor, got ${describeValue(loss)}`);
    traceLoss(loss);
    const module = options.model ? unwrap(options.model) : null;
    const done = this.strategy.backward(loss, module, { retainGraph: options.retainGraph, gradient: options.gradient });
    // Lite's backward is synchronous, as Fabric's. The base precision plugin and strategy never
    // return a promise without a Trainer; a custom one that does is refused, not left unawaited.
    if (isPromiseLike(done)) {
      Promise.resolve(done).catch(() => {});
      throw new MisconfigurationError(
        `backward(): the ${this.strategy.name} strategy or its ${this.strategy.precision.name} precision plugin returned a promise; Lite's backward is synchronous`,
      );
    }
  }

  /**
   * Clips the gradients of the optimizer's parameters, by total norm (`maxNorm`, returns the
   * norm before clipping) or by value (`clipVal`, returns null) — exactly one of the two.
   */
  clipGradients(model: Module, optimizer: Optimizer<any>, options: ClipGradientsOptions & { maxNorm: number; clipVal?: undefined }): number;
  clipGradients(model: Module, optimizer: Optimizer<any>, options: ClipGradientsOptions & { clipVal: number; maxNorm?: undefined }): null;
  clipGradients(model: Module, optimizer: Optimizer<any>, options: ClipGradientsOptions): number | null;
  clipGradients(model: Module, optimizer: Optimizer<any>, options: ClipGradientsOptions): number | null {
    const { maxNorm, clipVal, normType = 2, errorIfNonfinite = true } = options;
    if (maxNorm !== undefined && clipVal !== undefined) {
      throw new MisconfigurationError(
        "clipGradients(): give either maxNorm or clipVal, not both: they select different clipping algorithms",
      );
    }
    if (maxNorm === undefined && clipVal === undefined) {
      throw new MisconfigurationError("clipGradients(): give maxNorm (clip the total norm) or clipVal (clip each value)");
    }
    for (const [name, v] of [["maxNorm", maxNorm], ["clipVal", clipVal], ["normType", normType]] as const) {
      if (v !== undefined && (typeof v !== "number" || Number.isNaN(v))) {
        throw new MisconfigurationError(`clipGradients(): ${name} must be a number, got ${describeValue(v)}`);
      }
    }
    const module = unwrap(model);
    const opt = unwrap(optimizer);
    if (clipVal !== undefined) {
      this.strategy.clipGradientsValue(module, opt, clipVal);
      return null;
    }
    return this.strategy.clipGradientsNorm(module, opt, maxNorm!, normType, errorIfNonfinite);
  }

  /** Runs `fn` under the precision plugin's forward context (for forwards outside `model.forward`). */
  autocast<T>(fn: () => T): T {
    return this.strategy.precision.forwardContext(fn);
  }

  /** Moves a model, a tensor or a collection of tensors to the device. */
  toDevice<T>(x: T): T {
    if (x instanceof Module) {
      this.strategy.moduleToDevice(unwrap(x));
      return x;
    }
    return this.strategy.batchToDevice(x);
  }

  /**
   * Runs `fn` without synchronising gradients between processes (gradient accumulation: skip
   * the all-reduce on the steps that do not call `optimizer.step()`). `fn` may be async.
   */
  noBackwardSync<T>(model: Module, fn: () => T, enabled = true): T {
    if (!isWrapped(model)) {
      throw new MisconfigurationError("noBackwardSync(): set up the model with this.setup() first; this one is not a Lite model");
    }
    return this.strategy.noBackwardSync(unwrap(model), enabled, fn);
  }

  // ---------------------------------------------------------------------------------------
  // Processes

  /** `console.log` on the first process of each machine only (local rank 0), as Fabric's `print`. */
  print(...args: unknown[]): void {
    if (this.localRank === 0) console.log(...args);
  }

  /** Waits until every process gets here. */
  barrier(name?: string): void {
    this.strategy.barrier(name);
  }

  /** Rank `src`'s value on every process. */
  broadcast<T>(value: T, src = 0): T {
    if (!Number.isInteger(src) || src < 0 || src >= this.worldSize) {
      throw new MisconfigurationError(`broadcast(): src=${src} is not a rank of this job (0..${this.worldSize - 1})`);
    }
    return this.strategy.broadcast(value, src);
  }

  /**
   * Gathers a tensor (a number, or a collection of them) from every process, stacked along a
   * new leading dimension of size worldSize — also when worldSize is 1, so the result's shape
   * never depends on how many processes run. The result carries no gradient unless `syncGrads`.
   */
  allGather<T>(data: T, options: { syncGrads?: boolean } = {}): Collected<T> {
    const syncGrads = options.syncGrads ?? false;
    return this.mapTensors(data, (t) => this.strategy.allGather(t, syncGrads)) as Collected<T>;
  }

  /** Reduces a tensor (a number, or a collection of them) over all processes: the mean or the sum. */
  allReduce<T>(data: T, op: ReduceOp = "mean"): Collected<T> {
    if (!REDUCE_OPS.includes(op)) {
      throw new MisconfigurationError(`allReduce(): op=${describeValue(op)} is not supported; supported: ${REDUCE_OPS.join(", ")}`);
    }
    return this.mapTensors(data, (t) => this.strategy.allReduce(t, op)) as Collected<T>;
  }

  private mapTensors(data: unknown, fn: (t: tf.Tensor) => tf.Tensor): unknown {
    const isLeaf = (x: unknown) => isTensor(x) || typeof x === "number";
    return applyToCollection(data, isLeaf, (x: tf.Tensor | number) => fn(typeof x === "number" ? tf.scalar(x) : x));
  }

  // ---------------------------------------------------------------------------------------
  // Checkpoints and seeds

  /**
   * Saves `obj` to `path` (the torch layer's format, written atomically) from global rank 0,
   * then waits for every rank. Await it: reading tensor values is asynchronous on WebGPU. Models and optimizers — wrapped or not — are saved as their
   * state dicts, at the top level or as values of a top-level object
   * (`this.save({ model, optimizer, epoch }, path)`).
   */
  async save(obj: unknown, path: string): Promise<void> {
    await this.strategy.saveCheckpoint(path, toSavable(obj));
    this.barrier("save");
  }

  /**
   * Loads what `save` wrote (on every rank). With `state`, restores it in place as Fabric does:
   * each model / optimizer value loads its entry's state dict, other values are replaced in
   * `state`; the entries not in `state` are returned.
   */
  async load<T = any>(path: string, state?: Record<string, unknown>): Promise<T> {
    const checkpoint = await this.strategy.loadCheckpoint(path);
    this.barrier("load");
    return this.restore<T>(checkpoint, path, state);
  }

  /**
   * `save` for code that cannot await (a synchronous method of your own trainer class, as
   * Fabric's `save` is in Python): reads the tensors and writes the file synchronously, from
   * global rank 0, then waits for every rank.
   */
  saveSync(obj: unknown, path: string): void {
    this.strategy.saveCheckpointSync(path, toSavable(obj));
    this.barrier("save");
  }

  /** `load` for code that cannot await. */
  loadSync<T = any>(path: string, state?: Record<string, unknown>): T {
    const checkpoint = this.strategy.loadCheckpointSync(path);
    this.barrier("load");
    return this.restore<T>(checkpoint, path, state);
  }

  private restore<T>(checkpoint: unknown, path: string, state: Record<string, unknown> | undefined): T {
    if (state === undefined) return checkpoint as T;
    if (!isPlainObject(checkpoint)) {
      throw new Error(`load(): '${path}' does not hold an object of named entries, so it cannot restore a state object`);
    }
    const remainder: Record<string, unknown> = { ...checkpoint };
    for (const key of Object.keys(state)) {
      if (!(key in checkpoint)) throw new Error(`load(): '${key}' is not in the checkpoint '${path}' (it has: ${Object.keys(checkpoint).join(", ")})`);
      const target = unwrap(state[key]);
      const value = checkpoint[key];
      if (target instanceof Module) target.loadStateDict(value as Parameters<Module["loadStateDict"]>[0]);
      else if (target instanceof Optimizer) target.loadStateDict(value as Parameters<Optimizer["loadStateDict"]>[0]);
      else state[key] = value;
      delete remainder[key];
    }
    return remainder as T;
  }

  /** Seeds every random stream and sets `PL_GLOBAL_SEED`; returns the seed (Lightning's `seed_everything`). */
  seedEverything(seed?: number): number {
    return seedEverything(seed);
  }

  static seedEverything(seed?: number): number {
    return seedEverything(seed);
  }

  // ---------------------------------------------------------------------------------------

  private requireDevice(method: string): void {
    if (this.deviceReady) return;
    if (this.deviceError !== null) throw this.deviceError;
    throw new MisconfigurationError(
      `${method}() was called while the ${this.accelerator.name} accelerator's backend ('${this.accelerator.backendName}') ` +
        `is still starting: call it inside run(), or after \`await lite.launch()\``,
    );
  }
}

function toSavable(obj: unknown): unknown {
  const convert = (v: unknown): unknown => {
    const u = unwrap(v);
    if (u instanceof Module || u instanceof Optimizer) return u.stateDict();
    return v;
  };
  if (isPlainObject(obj)) {
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(obj)) out[k] = convert(obj[k]);
    return out;
  }
  return convert(obj);
}
