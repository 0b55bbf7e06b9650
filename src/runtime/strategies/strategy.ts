import { tf } from "../../torch/tf.ts";
import type { Device } from "../../torch/device.ts";
import type { Module } from "../../torch/nn/module.ts";
import type { Optimizer } from "../../torch/optim/optimizer.ts";
import { clipGradNorm, clipGradValue } from "../../torch/nn/utils/clip_grad.ts";
import { save, load, saveSync, loadSync } from "../../torch/serialization/index.ts";
import type { Accelerator } from "../accelerators/accelerator.ts";
import { Precision, type PrecisionBackwardOptions } from "../plugins/precision/precision.ts";
import { FullPrecision } from "../plugins/precision/full_precision.ts";
import { moveDataToDevice } from "../utilities/move_data_to_device.ts";
import { chain, type MaybePromise } from "../core/maybe_async.ts";

/**
 * Reductions `allReduce` supports (torch.distributed's AVG, SUM, MAX, MIN by their Fabric
 * names). `max`/`min` serve `this.log(..., { syncDist: true, reduceFx: "max" | "min" })`.
 */
export type ReduceOp = "mean" | "sum" | "max" | "min";
export const REDUCE_OPS: readonly ReduceOp[] = ["mean", "sum", "max", "min"];

/** How a strategy wants each dataloader split across processes (`DistributedSampler` settings). */
export interface DistributedSamplerSettings {
  numReplicas: number;
  rank: number;
}

/**
 * A strategy decides how training is spread over devices and processes (Fabric's `Strategy`):
 * it owns the accelerator and the precision plugin, wraps models and optimizers, routes
 * backward and optimizer steps, and implements the collectives. Lite talks only to the
 * strategy, so single-device and DDP training run the same loop.
 */
export abstract class Strategy {
  abstract readonly name: string;
  accelerator: Accelerator | null;
  precision: Precision;

  constructor(options: { accelerator?: Accelerator; precision?: Precision } = {}) {
    this.accelerator = options.accelerator ?? null;
    this.precision = options.precision ?? new FullPrecision();
  }

  /** The device this process computes on. */
  abstract get rootDevice(): Device;
  abstract get globalRank(): number;
  abstract get localRank(): number;
  abstract get nodeRank(): number;
  abstract get worldSize(): number;

  get isGlobalZero(): boolean {
    return this.globalRank === 0;
  }

  /** Whether the accelerator's backend is already the active one (no async setup needed). */
  isEnvironmentReady(): boolean {
    return this.requireAccelerator().isActive();
  }

  /** Prepares this process: makes the accelerator's backend the active tfjs backend. */
  async setupEnvironment(): Promise<void> {
    await this.requireAccelerator().setupDevice(this.rootDevice);
  }

  /** Wraps the model for this strategy (DDP registers its gradient hooks here). */
  setupModule<M extends Module>(module: M): M {
    return module;
  }

  moduleToDevice(module: Module): void {
    module.to(this.rootDevice);
  }

  setupOptimizer<O extends Optimizer>(optimizer: O): O {
    return optimizer;
  }

  batchToDevice<T>(batch: T): T {
    return moveDataToDevice(batch, this.rootDevice);
  }

  /**
   * Backpropagates `loss` through the precision plugin: `preBackward` (which may scale it),
   * `backward` (under a Trainer, the LightningModule's `backward` hook) and `postBackward`.
   * Synchronous unless that hook is async; then `postBackward` waits for it and the promise is
   * returned. A strategy adding work around backward (DDP's gradient synchronisation) overrides
   * this and calls `super.backward`, for the Trainer and Lite alike.
   */
  backward(loss: tf.Tensor, module: Module | null, options: PrecisionBackwardOptions = {}): MaybePromise<void> {
    const precision = this.precision;
    const scaled = precision.preBackward(loss, module);
    return chain(precision.backward(scaled, module, options), () => precision.postBackward(scaled, module));
  }

  /**
   * One optimizer step through the precision plugin. `closure` may be async (the Trainer's
   * automatic-optimisation closure is): the returned promise settles after the update.
   */
  optimizerStep<T>(optimizer: Optimizer, closure?: () => T): T {
    return this.precision.optimizerStep(optimizer, closure);
  }

  /** Reduces a tensor over all processes. */
  abstract allReduce(tensor: tf.Tensor, op: ReduceOp): tf.Tensor;

  /** Stacks a tensor from every process along a new leading (world) dimension. */
  abstract allGather(tensor: tf.Tensor, syncGrads: boolean): tf.Tensor;

  /** Rank `src`'s value, on every process. */
  abstract broadcast<T>(value: T, src: number): T;

  /** Waits until every process reaches this point. */
  abstract barrier(name?: string): void;

  /**
   * Clips the gradient norm of the optimizer's parameters (`torch.nn.utils.clip_grad_norm_`)
   * after unscaling, and returns the total norm before clipping.
   */
  clipGradientsNorm(
    _module: Module,
    optimizer: Optimizer,
    maxNorm: number,
    normType: number,
    errorIfNonfinite: boolean,
  ): number {
    this.precision.unscaleGradients(optimizer);
    return clipGradNorm(this.precision.mainParams(optimizer), maxNorm, normType, { errorIfNonfinite });
  }

  /** Clamps every gradient of the optimizer's parameters to [-clipVal, clipVal]. */
  clipGradientsValue(_module: Module, optimizer: Optimizer, clipVal: number): void {
    this.precision.unscaleGradients(optimizer);
    clipGradValue(this.precision.mainParams(optimizer), clipVal);
  }

  /** The `DistributedSampler` settings dataloaders need, or null when they need none. */
  distributedSamplerSettings(): DistributedSamplerSettings | null {
    return null;
  }

  /**
   * Runs `fn` with gradient synchronisation between processes skipped (gradient accumulation
   * under DDP). Strategies without synchronisation just run it. `fn` may be async (the
   * Trainer's closure is): return its promise, and keep synchronisation off until it settles
   * (`withFinally` in core/maybe_async.ts), not only until `fn` returns.
   */
  noBackwardSync<T>(_module: Module, _enabled: boolean, fn: () => T): T {
    return fn();
  }

  /**
   * Writes a checkpoint from rank 0 (atomically: the torch layer's `save`); the caller
   * synchronises the ranks afterwards. Async because reading tensor values is on WebGPU.
   */
  async saveCheckpoint(path: string, state: unknown): Promise<void> {
    if (this.isGlobalZero) await save(state, path);
  }

  async loadCheckpoint(path: string): Promise<unknown> {
    return load(path);
  }

  /** `saveCheckpoint` with synchronous reads and write, for code that cannot await (not on WebGPU before its sync reads). */
  saveCheckpointSync(path: string, state: unknown): void {
    if (this.isGlobalZero) saveSync(state, path);
  }

  loadCheckpointSync(path: string): unknown {
    return loadSync(path);
  }

  teardown(): void {
    this.precision.teardown();
  }

  protected requireAccelerator(): Accelerator {
    if (!this.accelerator) {
      throw new Error(`${this.constructor.name}: no accelerator was set (the connector sets it; a hand-built strategy needs one)`);
    }
    return this.accelerator;
  }
}

/** Adds a leading dimension of size 1: one process's share of an all-gather. */
export function gatherOne(tensor: tf.Tensor): tf.Tensor {
  return tf.expandDims(tensor, 0);
}
