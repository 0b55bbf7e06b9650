/**
 * Shared setup for the Trainer tests: the pure-JS cpu backend (deterministic float32, pinned
 * through LIGHTNING_TS_BACKEND so the `cpu` accelerator keeps it), temporary root folders,
 * a small classification module, and a plain PyTorch-style loop to compare against.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { LightningModule, type TrainerOptions } from "lightning-ts";
import { tf, nn, F, optim, data, selectBackend, manualSeed, load } from "lightning-ts/torch";

export async function usePureJsCpu(): Promise<void> {
  process.env.LIGHTNING_TS_BACKEND = "cpu";
  process.env.LIGHTNING_TS_LOG_LEVEL = "warning";
  await selectBackend("cpu");
}

export function tmpRoot(prefix = "lt-trainer-"): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

/** The Trainer options the tests start from: quiet, no progress bar, in a temporary folder. */
export function baseOptions(extra: TrainerOptions = {}): TrainerOptions {
  return { enableProgressBar: false, enableModelSummary: false, defaultRootDir: tmpRoot(), ...extra };
}

export class Mlp extends nn.Module {
  fc1 = new nn.Linear(6, 16);
  drop = new nn.Dropout(0.2);
  fc2 = new nn.Linear(16, 3);
  override forward(x: tf.Tensor): tf.Tensor {
    return this.fc2.forward(this.drop.forward(F.relu(this.fc1.forward(x))));
  }
}

export function dataset(n = 64, seed = 0): data.SyntheticClassification {
  return new data.SyntheticClassification({ numSamples: n, numFeatures: 6, numClasses: 3, seed });
}

export interface ClassifierArgs {
  lr?: number;
  batchSize?: number;
  n?: number;
  shuffle?: boolean;
  withVal?: boolean;
  withTest?: boolean;
  optimizer?: "adam" | "sgd";
}

/** A LightningModule over `Mlp` with train (and optionally val/test) dataloaders. */
export class Classifier extends LightningModule {
  model = new Mlp();
  readonly cfg: Required<ClassifierArgs>;
  constructor(args: ClassifierArgs = {}) {
    super();
    this.cfg = { lr: 1e-2, batchSize: 16, n: 64, shuffle: true, withVal: false, withTest: false, optimizer: "adam", ...args };
  }
  override forward(x: tf.Tensor): tf.Tensor {
    return this.model.forward(x);
  }
  // Loose return types (`any`): test subclasses override these with async or other shapes.
  override trainingStep([x, y]: [tf.Tensor, tf.Tensor], _batchIdx = 0): any {
    const loss = F.crossEntropy(this.forward(x), y);
    this.log("train_loss", loss);
    return loss;
  }
  override configureOptimizers(): any {
    return this.cfg.optimizer === "sgd"
      ? new optim.SGD(this.parameters(), { lr: this.cfg.lr, momentum: 0.9 })
      : new optim.Adam(this.parameters(), { lr: this.cfg.lr });
  }
  override trainDataloader(): any {
    return new data.DataLoader(dataset(this.cfg.n), { batchSize: this.cfg.batchSize, shuffle: this.cfg.shuffle });
  }
}

/** Adds validation and test steps/loaders. */
export class EvalClassifier extends Classifier {
  override validationStep([x, y]: [tf.Tensor, tf.Tensor], _batchIdx = 0, _dataloaderIdx = 0): any {
    const logits = this.forward(x);
    this.log("val_loss", F.crossEntropy(logits, y), { progBar: true });
    this.log("val_acc", accuracy(logits, y));
  }
  override testStep([x, y]: [tf.Tensor, tf.Tensor], _batchIdx = 0, _dataloaderIdx = 0): any {
    const logits = this.forward(x);
    this.log("test_loss", F.crossEntropy(logits, y));
    this.log("test_acc", accuracy(logits, y));
  }
  override valDataloader(): any {
    return new data.DataLoader(dataset(40, 1), { batchSize: 16 });
  }
  override testDataloader(): any {
    return new data.DataLoader(dataset(40, 2), { batchSize: 16 });
  }
}

export function accuracy(logits: tf.Tensor, y: tf.Tensor): tf.Tensor {
  return tf.tidy(() => tf.mean(tf.cast(tf.equal(tf.argMax(logits, 1), tf.cast(y, "int32")), "float32")));
}

/** The SPEC §2 plain loop on the same model and data; returns the losses. */
export function plainLoop(seed: number, epochs: number, args: ClassifierArgs = {}): { losses: number[]; weights: number[][] } {
  manualSeed(seed);
  const cfg = { lr: 1e-2, batchSize: 16, n: 64, shuffle: true, optimizer: "adam", ...args };
  const model = new Mlp();
  const optimizer =
    cfg.optimizer === "sgd" ? new optim.SGD(model.parameters(), { lr: cfg.lr, momentum: 0.9 }) : new optim.Adam(model.parameters(), { lr: cfg.lr });
  const loader = new data.DataLoader(dataset(cfg.n), { batchSize: cfg.batchSize, shuffle: cfg.shuffle });
  model.train();
  const losses: number[] = [];
  for (let epoch = 0; epoch < epochs; epoch++) {
    for (const [x, y] of loader) {
      optimizer.zeroGrad();
      const loss = F.crossEntropy(model.forward(x as tf.Tensor), y as tf.Tensor);
      loss.backward();
      optimizer.step();
      losses.push(loss.item());
    }
  }
  return { losses, weights: snapshot(model.parameters()) };
}

export function snapshot(params: tf.Variable[]): number[][] {
  return params.map((p) => Array.from(p.dataSync()));
}

/** Records every loss handed to a backward while `fn` runs (the SPEC §6 loss trace). */
export async function withLossTrace(fn: () => Promise<unknown> | unknown): Promise<number[]> {
  const file = path.join(tmpRoot("lt-trace-"), "trace.txt");
  const prev = process.env.LIGHTNING_TS_LOSS_TRACE;
  process.env.LIGHTNING_TS_LOSS_TRACE = file;
  try {
    await fn();
  } finally {
    if (prev === undefined) delete process.env.LIGHTNING_TS_LOSS_TRACE;
    else process.env.LIGHTNING_TS_LOSS_TRACE = prev;
  }
  if (!fs.existsSync(file)) return [];
  return fs
    .readFileSync(file, "utf8")
    .split("\n")
    .filter((l) => l.length > 0)
    .map(Number);
}

export { tf, nn, F, optim, data, manualSeed, load };
