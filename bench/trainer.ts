/**
 * Trainer overhead against the plain loop (SPEC §2) on the same backend, model, data, optimizer
 * and seed: an MLP 784-128-10 with Adam on SyntheticClassification (2048 samples, batch 64,
 * 32 steps per epoch).
 *
 *   plain     zeroGrad / forward / backward / step, reading `loss.item()` each step
 *   parity    the same model as a LightningModule (`this.log("train_loss", loss)` each step) on
 *             Trainer({ enableProgressBar: false, enableModelSummary: false,
 *             enableCheckpointing: false, logger: false }) — Lightning's parity configuration
 *   defaults  Trainer() with its defaults (progress bar, model summary, TensorBoard + CSV
 *             loggers, a checkpoint per epoch)
 *
 * Measurement. The machine may be shared and its load drifts, so each Trainer epoch is paired
 * with a plain epoch run right next to it (from the Trainer's epoch hooks, alternately before
 * and after it), and ratios are taken within pairs: drift affects both sides of a pair alike.
 * Per-epoch time is measured inside the epoch (onTrainEpochStart → onTrainEpochEnd; the batch
 * loop for the plain script). The report gives, per epoch index, the median over rounds of the
 * times and of the pairwise ratios; then the whole `fit` (setup, sanity check, teardown
 * included); then the Trainer's fixed cost per training step, measured on a model whose compute
 * is negligible (Linear 4→2, batch 8) — an absolute cost that, divided by the MLP's step time,
 * gives the overhead independently of noise. Target: parity ratio ≤ 1.02.
 *
 *   npx tsx bench/trainer.ts           (BENCH_EPOCHS, BENCH_ROUNDS, LIGHTNING_TS_BACKEND=cpu|wasm|…)
 *
 * The default configuration's progress bar writes to stdout; its output is swallowed while the
 * Trainer runs (the formatting is still paid) so the report stays readable.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { tf, nn, F, optim, data, manualSeed } from "lightning-ts/torch";
import { LightningModule, Trainer, Callback, type TrainerOptions } from "lightning-ts";
import { median } from "./stats.ts";

const EPOCHS = Number(process.env.BENCH_EPOCHS ?? 4);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 6);
const SAMPLES = 2048;
const BATCH = 64;
const LR = 1e-3;

process.env.LIGHTNING_TS_LOG_LEVEL ??= "warning";

class Mlp extends nn.Module {
  fc1 = new nn.Linear(784, 128);
  fc2 = new nn.Linear(128, 10);
  override forward(x: tf.Tensor): tf.Tensor {
    return this.fc2.forward(F.relu(this.fc1.forward(x)));
  }
}

const dataset = new data.SyntheticClassification({ numSamples: SAMPLES, numFeatures: 784, numClasses: 10, seed: 0 });

/** The SPEC §2 loop, one epoch per call. */
class PlainRun {
  readonly model: Mlp;
  private readonly optimizer: optim.Adam;
  private readonly loader: data.DataLoader<any, any>;
  readonly losses: number[] = [];

  constructor(seed: number) {
    manualSeed(seed);
    this.model = new Mlp();
    this.optimizer = new optim.Adam(this.model.parameters(), { lr: LR });
    this.loader = new data.DataLoader(dataset, { batchSize: BATCH, shuffle: true });
    this.model.train();
  }

  /** One epoch; returns its duration in ms. */
  epoch(): number {
    const t0 = performance.now();
    for (const [x, y] of this.loader) {
      this.optimizer.zeroGrad();
      const loss = F.crossEntropy(this.model.forward(x as tf.Tensor), y as tf.Tensor);
      loss.backward();
      this.optimizer.step();
      this.losses.push(loss.item());
    }
    return performance.now() - t0;
  }
}

class MlpModule extends LightningModule {
  model = new Mlp();
  override forward(x: tf.Tensor): tf.Tensor {
    return this.model.forward(x);
  }
  override trainingStep([x, y]: [tf.Tensor, tf.Tensor]): tf.Tensor {
    const loss = F.crossEntropy(this.forward(x), y);
    this.log("train_loss", loss);
    return loss;
  }
  override configureOptimizers() {
    return new optim.Adam(this.parameters(), { lr: LR });
  }
  override trainDataloader() {
    return new data.DataLoader(dataset, { batchSize: BATCH, shuffle: true });
  }
}

/** Times each Trainer epoch and runs one plain epoch next to it (before it when `plainFirst`). */
class PairedTimer extends Callback {
  trainer: number[] = [];
  plain: number[] = [];
  private start = 0;

  constructor(
    private readonly run: PlainRun,
    private readonly plainFirst: boolean,
  ) {
    super();
  }

  private plainEpoch(): void {
    this.plain.push(this.run.epoch());
  }

  override onTrainEpochStart(): void {
    if (this.plainFirst) this.plainEpoch();
    this.start = performance.now();
  }

  override onTrainEpochEnd(): void {
    this.trainer.push(performance.now() - this.start);
    if (!this.plainFirst) this.plainEpoch();
  }
}

const realWrite = process.stdout.write.bind(process.stdout);
const PARITY: TrainerOptions = { enableProgressBar: false, enableModelSummary: false, enableCheckpointing: false, logger: false };

async function paired(seed: number, defaults: boolean, plainFirst: boolean) {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), "bench-trainer-"));
  const plain = new PlainRun(seed + 1000);
  const timer = new PairedTimer(plain, plainFirst);
  if (defaults) process.stdout.write = (() => true) as typeof process.stdout.write;
  try {
    manualSeed(seed);
    const t0 = performance.now();
    const t = new Trainer({ maxEpochs: EPOCHS, defaultRootDir: root, callbacks: [timer], ...(defaults ? {} : PARITY) });
    await t.fit(new MlpModule());
    // The whole fit minus the plain epochs run inside it.
    const total = performance.now() - t0 - timer.plain.reduce((a, b) => a + b, 0);
    return { trainer: timer.trainer, plain: timer.plain, total };
  } finally {
    process.stdout.write = realWrite;
    fs.rmSync(root, { recursive: true, force: true });
  }
}

/** A whole plain run (model, optimizer, loader, epochs), for the whole-fit comparison. */
function plainTotal(seed: number): number {
  const t0 = performance.now();
  const run = new PlainRun(seed);
  for (let e = 0; e < EPOCHS; e++) run.epoch();
  return performance.now() - t0;
}

// --- fixed cost per step: a model whose compute is negligible ------------------------------

class Tiny extends nn.Module {
  fc = new nn.Linear(4, 2);
  override forward(x: tf.Tensor): tf.Tensor {
    return this.fc.forward(x);
  }
}
const tinyData = new data.SyntheticClassification({ numSamples: 4096, numFeatures: 4, numClasses: 2, seed: 0 });
const TINY_STEPS = 4096 / 8;

function tinyPlain(): number {
  manualSeed(0);
  const m = new Tiny();
  const opt = new optim.SGD(m.parameters(), { lr: 0.1 });
  const loader = new data.DataLoader(tinyData, { batchSize: 8, shuffle: true });
  const t0 = performance.now();
  for (const [x, y] of loader) {
    opt.zeroGrad();
    const loss = F.crossEntropy(m.forward(x as tf.Tensor), y as tf.Tensor);
    loss.backward();
    opt.step();
    loss.item();
  }
  return ((performance.now() - t0) / TINY_STEPS) * 1000;
}

class TinyModule extends LightningModule {
  net = new Tiny();
  override trainingStep([x, y]: [tf.Tensor, tf.Tensor]): tf.Tensor {
    const loss = F.crossEntropy(this.net.forward(x), y);
    this.log("train_loss", loss);
    return loss;
  }
  override configureOptimizers() {
    return new optim.SGD(this.parameters(), { lr: 0.1 });
  }
  override trainDataloader() {
    return new data.DataLoader(tinyData, { batchSize: 8, shuffle: true });
  }
}

class EpochTimer extends Callback {
  ms = 0;
  private start = 0;
  override onTrainEpochStart(): void {
    this.start = performance.now();
  }
  override onTrainEpochEnd(): void {
    this.ms = performance.now() - this.start;
  }
}

async function tinyTrainer(): Promise<number> {
  manualSeed(0);
  const timer = new EpochTimer();
  await new Trainer({ maxEpochs: 1, callbacks: [timer], ...PARITY }).fit(new TinyModule());
  return (timer.ms / TINY_STEPS) * 1000;
}

// --------------------------------------------------------------------------------------------


async function main(): Promise<void> {
  const out = (s: string) => realWrite(`${s}\n`);
  // Warm-up (kernel set-up, JIT) of every path.
  await paired(0, false, false);
  await paired(0, true, true);
  plainTotal(0);

  type Pairs = { trainer: number[][]; plain: number[][]; totals: number[] };
  const runs: Record<"parity" | "defaults", Pairs> = {
    parity: { trainer: [], plain: [], totals: [] },
    defaults: { trainer: [], plain: [], totals: [] },
  };
  const plainTotals: number[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    for (const kind of ["parity", "defaults"] as const) {
      const p = await paired(r + 1, kind === "defaults", r % 2 === 0);
      runs[kind].trainer.push(p.trainer);
      runs[kind].plain.push(p.plain);
      runs[kind].totals.push(p.total);
    }
    plainTotals.push(plainTotal(r + 1));
  }

  out(`backend ${tf.getBackend()}; MLP 784-128-10, Adam, batch ${BATCH}, ${SAMPLES / BATCH} steps/epoch, ${EPOCHS} epochs x ${ROUNDS} rounds`);
  out("");
  out("per-epoch time (ms, median over rounds) and Trainer/plain ratio (median of paired ratios)");
  out(`${"epoch".padEnd(7)}${"plain".padStart(9)}${"parity".padStart(9)}${"ratio".padStart(8)}${"plain".padStart(10)}${"defaults".padStart(10)}${"ratio".padStart(8)}`);
  const ratios = (k: "parity" | "defaults", e?: number) =>
    runs[k].trainer.flatMap((row, r) => row.map((t, i) => ({ i, v: t / runs[k].plain[r][i] }))).filter((x) => e === undefined || x.i === e).map((x) => x.v);
  const col = (k: "parity" | "defaults", which: "trainer" | "plain", e: number) => median(runs[k][which].map((row) => row[e]));
  for (let e = 0; e < EPOCHS; e++) {
    out(
      `${String(e).padEnd(7)}${col("parity", "plain", e).toFixed(1).padStart(9)}${col("parity", "trainer", e).toFixed(1).padStart(9)}` +
        `${median(ratios("parity", e)).toFixed(3).padStart(8)}${col("defaults", "plain", e).toFixed(1).padStart(10)}` +
        `${col("defaults", "trainer", e).toFixed(1).padStart(10)}${median(ratios("defaults", e)).toFixed(3).padStart(8)}`,
    );
  }
  const parityRatio = median(ratios("parity"));
  const defaultsRatio = median(ratios("defaults"));
  out(`${"all".padEnd(7)}${"".padStart(18)}${parityRatio.toFixed(3).padStart(8)}${"".padStart(20)}${defaultsRatio.toFixed(3).padStart(8)}`);
  out("");
  const pt = median(plainTotals);
  out("whole run (ms, median; Trainer: the fit minus the paired plain epochs inside it)");
  out(
    `plain ${pt.toFixed(0)}   parity ${median(runs.parity.totals).toFixed(0)} (x${(median(runs.parity.totals) / pt).toFixed(3)})   ` +
      `defaults ${median(runs.defaults.totals).toFixed(0)} (x${(median(runs.defaults.totals) / pt).toFixed(3)})`,
  );

  // Fixed cost per step, interleaved; min over rounds is the undisturbed value.
  await tinyTrainer();
  tinyPlain();
  const tp: number[] = [];
  const tt: number[] = [];
  for (let r = 0; r < ROUNDS + 4; r++) {
    tp.push(tinyPlain());
    tt.push(await tinyTrainer());
  }
  const fixed = Math.min(...tt) - Math.min(...tp);
  const plainStepUs = (Math.min(...runs.parity.plain.flat()) / (SAMPLES / BATCH)) * 1000;
  out("");
  out(
    `fixed cost per training step (tiny model, parity config, min over rounds): plain ${Math.min(...tp).toFixed(1)} us, ` +
      `Trainer ${Math.min(...tt).toFixed(1)} us -> +${fixed.toFixed(1)} us/step = ${((fixed / plainStepUs) * 100).toFixed(2)}% ` +
      `of this MLP's step (${(plainStepUs / 1000).toFixed(2)} ms, fastest plain epoch)`,
  );
  out("");
  out(`parity-configuration overhead per epoch: ${((parityRatio - 1) * 100).toFixed(2)}% (median paired ratio; target <= 2%)`);
}

await main();
