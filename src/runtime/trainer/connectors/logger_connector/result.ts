/**
 * What `this.log` records (Lightning's `_ResultCollection`). Each (hook, name[, dataloader])
 * pair is one `ResultMetric` that keeps the last value logged in the current batch (the "step"
 * value) and an epoch accumulator reduced with `reduceFx` — the mean weighted by batch size by
 * default, so an epoch value equals the mean over all samples, not over batches.
 *
 * Values are plain numbers: a tensor is read when it is logged, while the batch's step scope is
 * still open (the tensor is disposed when the batch ends). Backends without synchronous reads
 * (WebGPU) keep a detached copy until the loop calls `flush()` at the end of the batch. The
 * accumulators are float64, a little more precise than Lightning's float32 buffers.
 */
import { tf } from "../../../../torch/tf.ts";
import { noGrad } from "../../../../torch/autograd/grad_mode.ts";
import { MisconfigurationError } from "../../../errors.ts";
import { rankZeroWarn } from "../../../utilities/rank_zero.ts";
import type { MaybePromise } from "../../../core/maybe_async.ts";

export type ReduceFx = "mean" | "sum" | "max" | "min";
export const REDUCE_FXS: readonly ReduceFx[] = ["mean", "sum", "max", "min"];

export interface LogMetadata {
  fx: string;
  name: string;
  onStep: boolean;
  onEpoch: boolean;
  progBar: boolean;
  logger: boolean;
  reduceFx: ReduceFx;
  syncDist: boolean;
  addDataloaderIdx: boolean;
  rankZeroOnly: boolean;
  dataloaderIdx: number | null;
}

/** `{ callback, log, pbar }` as Lightning's `_METRICS`. */
export interface MetricsByDestination {
  callback: Record<string, number>;
  log: Record<string, number>;
  pbar: Record<string, number>;
}

/** Reduces one number over all processes (set by the strategy when the world is larger than 1). */
export type SyncFn = (value: number, op: "sum" | "mean" | "max" | "min") => number;

export class ResultMetric {
  /** mean: Σ value·batchSize; sum: Σ value; max/min: running extreme. */
  value: number;
  cumulatedBatchSize = 0;
  /** The value logged in the current batch, or null if none was (Lightning's forward cache). */
  stepValue: number | null = null;
  private computed: number | null = null;
  updated = false;

  constructor(readonly meta: LogMetadata) {
    this.value = initialValue(meta.reduceFx);
  }

  get forked(): boolean {
    return this.meta.onStep && this.meta.onEpoch;
  }

  /** `name_step` / `name_epoch` when logged both ways, else the name itself. */
  forkedName(onStep: boolean): string {
    if (this.forked) return `${this.meta.name}_${onStep ? "step" : "epoch"}`;
    return this.meta.name;
  }

  /**
   * Adds one logged value. With `syncDist`, the step value is the reduction over the processes
   * (`sync`: the mean for mean, else the extreme or the sum), as Lightning's step values are;
   * the epoch accumulator stays local until `compute`.
   */
  update(value: number, batchSize: number, sync: SyncFn | null = null): void {
    this.updated = true;
    this.computed = null;
    this.stepValue = sync !== null && this.meta.syncDist && this.meta.onStep ? sync(value, this.meta.reduceFx) : value;
    if (!this.meta.onEpoch) return;
    switch (this.meta.reduceFx) {
      case "mean":
        this.value += value * batchSize;
        this.cumulatedBatchSize += batchSize;
        break;
      case "sum":
        this.value += value;
        break;
      case "max":
        this.value = Math.max(this.value, value);
        break;
      case "min":
        this.value = Math.min(this.value, value);
        break;
    }
  }

  compute(sync: SyncFn | null): number {
    if (this.computed !== null) return this.computed;
    let value = this.value;
    let count = this.cumulatedBatchSize;
    if (sync !== null && this.meta.syncDist) {
      const op = this.meta.reduceFx === "max" ? "max" : this.meta.reduceFx === "min" ? "min" : "sum";
      value = sync(value, op);
      if (this.meta.reduceFx === "mean") count = sync(count, "sum");
    }
    this.computed = this.meta.reduceFx === "mean" ? value / count : value;
    return this.computed;
  }

  reset(): void {
    this.value = initialValue(this.meta.reduceFx);
    this.cumulatedBatchSize = 0;
    this.stepValue = null;
    this.computed = null;
    this.updated = false;
  }
}

function initialValue(fx: ReduceFx): number {
  return fx === "max" ? -Infinity : fx === "min" ? Infinity : 0;
}

export interface LogCall {
  progBar: boolean;
  logger: boolean;
  onStep: boolean;
  onEpoch: boolean;
  reduceFx: ReduceFx;
  syncDist: boolean;
  addDataloaderIdx: boolean;
  batchSize?: number;
  rankZeroOnly: boolean;
}

export class ResultCollection {
  readonly entries = new Map<string, ResultMetric>();
  /** The current batch, for batch-size inference. */
  private currentBatch: unknown = undefined;
  private batchSizeCache: number | null = null;
  /** The dataloader of the batch being run (null with a single dataloader or outside batches). */
  dataloaderIdx: number | null = null;
  /** Set by the strategy in multi-process runs. */
  sync: SyncFn | null = null;
  private pending: Array<{ metric: ResultMetric; tensor: tf.Tensor; batchSize: number }> = [];

  constructor(readonly training: boolean) {}

  set batch(batch: unknown) {
    this.currentBatch = batch;
    this.batchSizeCache = null;
  }

  get batch(): unknown {
    return this.currentBatch;
  }

  /** Records one `this.log(name, value, ...)` made in hook `fx`. */
  log(fx: string, name: string, value: number | tf.Tensor, call: LogCall): void {
    let key = `${fx}.${name}`;
    const dataloaderIdx = call.addDataloaderIdx ? this.dataloaderIdx : null;
    if (dataloaderIdx !== null) key += `.${dataloaderIdx}`;
    const meta: LogMetadata = {
      fx,
      name,
      onStep: call.onStep,
      onEpoch: call.onEpoch,
      progBar: call.progBar,
      logger: call.logger,
      reduceFx: call.reduceFx,
      syncDist: call.syncDist,
      addDataloaderIdx: call.addDataloaderIdx,
      rankZeroOnly: call.rankZeroOnly,
      dataloaderIdx,
    };
    let metric = this.entries.get(key);
    if (metric === undefined) {
      metric = new ResultMetric(meta);
      this.entries.set(key, metric);
    } else if (!sameMeta(metric.meta, meta)) {
      throw new MisconfigurationError(`You called \`this.log(${name}, ...)\` twice in \`${fx}\` with different arguments. This is not allowed`);
    }
    const batchSize = this.resolveBatchSize(call.batchSize, meta);
    if (typeof value === "number") {
      metric.update(value, batchSize, this.sync);
      return;
    }
    if (canReadSync()) {
      metric.update(value.dataSync()[0], batchSize, this.sync);
      return;
    }
    // WebGPU: no synchronous read. Keep a detached copy (the original dies with the step scope)
    // and read it in `flush()`, before the next batch.
    const copy = tf.keep(noGrad(() => tf.clone(value)));
    metric.updated = true;
    this.pending.push({ metric, tensor: copy, batchSize });
  }

  /** Reads values logged as tensors on backends without synchronous reads. */
  flush(): MaybePromise<void> {
    if (this.pending.length === 0) return;
    const items = this.pending;
    this.pending = [];
    return Promise.all(items.map((p) => p.tensor.data())).then((values) => {
      items.forEach((p, i) => {
        p.metric.update(values[i][0], p.batchSize, this.sync);
        p.tensor.dispose();
      });
    });
  }

  private resolveBatchSize(given: number | undefined, meta: LogMetadata): number {
    if (given !== undefined) {
      if (!Number.isFinite(given) || given <= 0) {
        throw new MisconfigurationError(`this.log(${meta.name}, ...): batchSize must be a positive number, got ${given}`);
      }
      return given;
    }
    // Only a mean over the epoch needs it (Lightning infers it lazily for the same reason), and
    // only inside a batch: values logged at an epoch's start or end weigh 1.
    if (meta.reduceFx !== "mean" || !meta.onEpoch || this.currentBatch === undefined) return 1;
    if (this.batchSizeCache === null) this.batchSizeCache = extractBatchSize(this.currentBatch);
    return this.batchSizeCache;
  }

  /** The values to send to callbacks, loggers and the progress bar (step values when `onStep`). */
  metrics(onStep: boolean): MetricsByDestination {
    const out: MetricsByDestination = { callback: {}, log: {}, pbar: {} };
    for (const metric of this.entries.values()) {
      if (!metric.updated) continue;
      // Only the current dataloader's metrics (with several evaluation dataloaders), as Lightning's `valid_items`.
      if (metric.meta.dataloaderIdx !== this.dataloaderIdx) continue;
      let value: number | null = null;
      if (onStep && metric.meta.onStep) value = metric.stepValue;
      else if (!onStep && metric.meta.onEpoch) value = metric.compute(this.sync);
      if (value === null) continue;
      let name = metric.meta.name;
      let forked = metric.forkedName(onStep);
      if (metric.meta.dataloaderIdx !== null) {
        name += `/dataloader_idx_${metric.meta.dataloaderIdx}`;
        forked += `/dataloader_idx_${metric.meta.dataloaderIdx}`;
      }
      if (metric.meta.logger) out.log[forked] = value;
      // Callback metrics take no `_step` values outside training (Lightning's rule).
      if (this.training || (metric.meta.onEpoch && !onStep)) {
        out.callback[name] = value;
        out.callback[forked] = value;
      }
      if (metric.meta.progBar) out.pbar[forked] = value;
    }
    return out;
  }

  /** Forgets the step values (a new batch starts: only what it logs is a step value). */
  resetStepValues(): void {
    for (const m of this.entries.values()) m.stepValue = null;
  }

  /** Clears accumulated values (of one hook, or all). */
  reset(fx?: string): void {
    for (const m of this.entries.values()) if (fx === undefined || m.meta.fx === fx) m.reset();
    for (const p of this.pending) p.tensor.dispose();
    this.pending = [];
    this.batchSizeCache = null;
  }

  get size(): number {
    return this.entries.size;
  }
}

function sameMeta(a: LogMetadata, b: LogMetadata): boolean {
  return (
    a.onStep === b.onStep &&
    a.onEpoch === b.onEpoch &&
    a.progBar === b.progBar &&
    a.logger === b.logger &&
    a.reduceFx === b.reduceFx &&
    a.syncDist === b.syncDist &&
    a.addDataloaderIdx === b.addDataloaderIdx &&
    a.rankZeroOnly === b.rankZeroOnly
  );
}

function canReadSync(): boolean {
  return tf.getBackend() !== "webgpu";
}

/**
 * Lightning's `extract_batch_size`: the size of the first dimension of the first tensor found
 * in the batch (depth first through arrays and objects; a 0-d tensor counts as 1). Several
 * different sizes give a warning: pass `batchSize` to `this.log` then.
 */
export function extractBatchSize(batch: unknown): number {
  const sizes: number[] = [];
  const visit = (x: unknown, depth: number): void => {
    if (depth > 16 || sizes.length > 64) return;
    if (x instanceof tf.Tensor) {
      sizes.push(x.rank === 0 ? 1 : x.shape[0]);
      return;
    }
    if (typeof x === "string" || x === null || x === undefined) return;
    if (Array.isArray(x)) {
      for (const v of x) visit(v, depth + 1);
      return;
    }
    if (typeof x === "object" && !ArrayBuffer.isView(x)) {
      for (const v of Object.values(x as object)) visit(v, depth + 1);
    }
  };
  visit(batch, 0);
  if (sizes.length === 0) {
    throw new MisconfigurationError(
      "We could not infer the batch_size from the batch. Either simplify its structure or provide the batch size " +
        "as `this.log(..., { batchSize })`.",
    );
  }
  const first = sizes[0];
  if (sizes.some((s) => s !== first)) {
    rankZeroWarn(
      `Trying to infer the \`batchSize\` from an ambiguous collection. The batch size we found is ${first}. ` +
        "To avoid any miscalculations, use `this.log(..., { batchSize })`.",
    );
  }
  return first;
}
