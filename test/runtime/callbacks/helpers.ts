/**
 * Shared setup for the callback tests: the pure-JS cpu backend (deterministic), temporary
 * folders, a tiny classifier on SyntheticClassification whose validation metric follows a
 * script (so top-k and patience decisions are known in advance), a fake trainer for unit tests
 * of the hook logic, and a writable stream that records what a progress bar printed.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { Writable } from "node:stream";
import { LightningModule, Logger, Trainer, type TrainerOptions, type DataSource, type OptimizersConfig, type MetricValue } from "lightning-ts";
import { tf, nn, F, optim, data, selectBackend, manualSeed } from "lightning-ts/torch";

export async function usePureJsCpu(): Promise<void> {
  process.env.LIGHTNING_TS_BACKEND = "cpu";
  process.env.LIGHTNING_TS_LOG_LEVEL = "warning";
  await selectBackend("cpu");
}

export function tmpDir(prefix = "lt-callbacks-"): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

/** Files in `dir` (sorted), `[]` when it does not exist. */
export function listDir(dir: string): string[] {
  return fs.existsSync(dir) ? fs.readdirSync(dir).sort() : [];
}

/** Trainer options for tests: no progress bar, no summary, no logger, a temporary root. */
export function quietOptions(extra: TrainerOptions = {}): TrainerOptions {
  return { enableProgressBar: false, enableModelSummary: false, logger: false, defaultRootDir: tmpDir(), ...extra };
}

export class Mlp extends nn.Module {
  fc1 = new nn.Linear(4, 8);
  fc2 = new nn.Linear(8, 3);
  override forward(x: tf.Tensor): tf.Tensor {
    return this.fc2.forward(F.relu(this.fc1.forward(x)));
  }
}

export function dataset(n: number, seed = 0): data.SyntheticClassification {
  return new data.SyntheticClassification({ numSamples: n, numFeatures: 4, numClasses: 3, seed });
}

export interface TinyArgs {
  /** Training samples (default 32) and batch size (default 8): 4 batches per epoch. */
  n?: number;
  batchSize?: number;
  /** Validation samples (default 8: one batch); 0 means no validation step at all. */
  valN?: number;
  /**
   * The value logged as `val_score` at the k-th validation run (k counts real validations,
   * not the sanity check); missing entries repeat the last one.
   */
  valScores?: number[];
  /** Index `valScores` by validation run (default) or by epoch (a resumed run continues the script). */
  scoreBy?: "run" | "epoch";
  lr?: number;
  scheduler?: "step-interval" | "epoch-interval" | null;
  optimizer?: "adam" | "sgd";
}

/** A small classifier; `val_score` is scripted so that checkpoint/early-stopping decisions are predictable. */
export class Tiny extends LightningModule {
  model = new Mlp();
  readonly args: Required<TinyArgs>;
  /** Real validation runs so far. */
  valRuns = 0;
  private valBatchesThisRun = 0;

  constructor(args: TinyArgs = {}) {
    super();
    this.args = { n: 32, batchSize: 8, valN: 8, valScores: [1], scoreBy: "run", lr: 0.05, scheduler: null, optimizer: "sgd", ...args };
  }

  override forward(x: tf.Tensor): tf.Tensor {
    return this.model.forward(x);
  }

  override trainingStep([x, y]: [tf.Tensor, tf.Tensor]): tf.Tensor {
    const loss = F.crossEntropy(this.forward(x), y);
    this.log("train_loss", loss, { progBar: true });
    return loss;
  }

  override onValidationEpochStart(): void {
    this.valBatchesThisRun = 0;
  }

  override validationStep([x, y]: [tf.Tensor, tf.Tensor]): void {
    this.valBatchesThisRun++;
    this.log("val_loss", F.crossEntropy(this.forward(x), y), { progBar: true });
    const k = Math.min(this.args.scoreBy === "run" ? this.valRuns : this.currentEpoch, this.args.valScores.length - 1);
    this.log("val_score", this.args.valScores[k]);
  }

  override onValidationEpochEnd(): void {
    if (!this.trainer.sanityChecking) this.valRuns++;
  }

  override configureOptimizers(): OptimizersConfig {
    const opt =
      this.args.optimizer === "adam"
        ? new optim.Adam(this.parameters(), { lr: this.args.lr })
        : new optim.SGD(this.parameters(), { lr: this.args.lr, momentum: 0.9 });
    if (this.args.scheduler === null) return opt;
    const scheduler = new optim.lrScheduler.StepLR(opt, { stepSize: 1, gamma: 0.5 });
    return { optimizer: opt, lrScheduler: { scheduler, interval: this.args.scheduler === "step-interval" ? "step" : "epoch" } };
  }

  override trainDataloader(): DataSource {
    return new data.DataLoader(dataset(this.args.n), { batchSize: this.args.batchSize });
  }

  override valDataloader(): DataSource {
    return new data.DataLoader(dataset(Math.max(this.args.valN, 1), 1), { batchSize: 8 });
  }
}

/** `Tiny` without a validation step. */
export class TinyNoVal extends Tiny {
  constructor(args: TinyArgs = {}) {
    super(args);
    // Shadow the inherited step so the Trainer sees no validation (it checks for an override).
    Object.defineProperty(this, "validationStep", { value: LightningModule.prototype.validationStep, enumerable: false });
  }
}

/** A TTY stand-in: collects everything written, with a fixed width. */
export class CaptureStream extends Writable {
  chunks: string[] = [];
  isTTY: boolean;
  columns: number;
  constructor(options: { isTTY: boolean; columns?: number }) {
    super();
    this.isTTY = options.isTTY;
    this.columns = options.columns ?? 100;
  }
  override _write(chunk: Buffer | string, _enc: BufferEncoding, cb: (e?: Error | null) => void): void {
    this.chunks.push(chunk.toString());
    cb();
  }
  // Writable#write is async in delivery; tests read the text synchronously, so record at call time.
  override write(chunk: unknown, ...rest: unknown[]): boolean {
    this.chunks.push(String(chunk));
    const cb = rest.find((r) => typeof r === "function") as (() => void) | undefined;
    cb?.();
    return true;
  }
  get text(): string {
    return this.chunks.join("");
  }
  /** Non-empty lines (plain output). */
  get lines(): string[] {
    return this.text.split("\n").filter((l) => l.length > 0);
  }
}

export { tf, nn, F, optim, data, manualSeed, Trainer, LightningModule };

/**
 * A stand-in Trainer with the documented members callbacks read, for testing hook logic
 * without running loops. Override any member through `over`.
 */
export function fakeTrainer(over: Record<string, unknown> = {}): Trainer & { printed: string[] } {
  const printed: string[] = [];
  const base: Record<string, unknown> = {
    state: { fn: "fit", stage: "train", status: "running" },
    sanityChecking: false,
    fastDevRun: false,
    callbackMetrics: {},
    progressBarMetrics: {},
    loggedMetrics: {},
    currentEpoch: 0,
    globalStep: 0,
    maxEpochs: 1,
    maxSteps: -1,
    numTrainingBatches: 10,
    numValBatches: [2],
    numSanityValBatches: [2],
    numTestBatches: [2],
    numPredictBatches: [2],
    valCheckInterval: 1,
    checkValEveryNEpoch: 1,
    logEveryNSteps: 50,
    shouldStop: false,
    worldSize: 1,
    globalRank: 0,
    isGlobalZero: true,
    loggers: [],
    optimizers: [],
    lrSchedulerConfigs: [],
    defaultRootDir: "/tmp",
    strategy: { broadcast: <T>(x: T) => x, barrier: () => {} },
    fitLoop: { epochLoop: { batchesThatStepped: 0, batchProgress: { isLastBatch: false } } },
    _loggerConnector: { shouldUpdateLogs: true },
    printed,
    print: (...args: unknown[]) => printed.push(args.map(String).join(" ")),
  };
  return Object.assign(base, over) as unknown as Trainer & { printed: string[] };
}

/** A logger that keeps every `logMetrics` call. */
export class RecordingLogger extends Logger {
  calls: Array<{ metrics: Record<string, number>; step: number | undefined }> = [];
  constructor(readonly versionValue: number | string = 0) {
    super();
  }
  get name(): string {
    return "recording";
  }
  get version(): number | string {
    return this.versionValue;
  }
  logMetrics(metrics: Record<string, MetricValue>, step?: number): void {
    this.calls.push({ metrics: Object.fromEntries(Object.entries(metrics).map(([k, v]) => [k, typeof v === "number" ? v : v.dataSync()[0]])), step });
  }
  logHyperparams(): void {}
  /** `[step, value]` for every call that logged `key`. */
  series(key: string): Array<[number | undefined, number]> {
    return this.calls.filter((c) => key in c.metrics).map((c) => [c.step, c.metrics[key]]);
  }
}
