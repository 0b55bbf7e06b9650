/**
 * LightningLite's per-step overhead against the plain loop it replaces, on the same backend,
 * in one process, with the same seed, data order, batch size and optimizer.
 *
 * 1. MLP 784-128-10, Adam, batch 64 — the SPEC's example: overhead as a ratio of step time.
 * 2. A tiny model (Linear 4→2, batch 4) whose step costs almost nothing, so the difference
 *    between the loops is Lite's own cost per step in microseconds (wrappers, precision and
 *    strategy routing, batch moves, the loss-trace check) — a low-noise number that says what
 *    the ratio in (1) can at most be.
 *
 * The loops run interleaved step by step (plain, lite, lite, plain, …), so backend warm-up,
 * machine load and drift fall on both alike. Each step is timed by wall clock and by this
 * process's CPU time (the cpu/WASM/tfjs-node kernels run on this thread; CPU time does not
 * count time other processes hold the core — the number to trust on a shared machine). The
 * two loops must produce the same losses bit for bit: they do the same work.
 *
 *   npx tsx bench/lite.ts                        (backend: LIGHTNING_TS_BACKEND, default auto)
 *   BENCH_STEPS=400 BENCH_TINY_STEPS=5000 npx tsx bench/lite.ts
 *   BENCH_CONTROL=1 npx tsx bench/lite.ts        (also plain vs plain: the noise floor)
 *
 * Target: overhead <= 2%.
 */
import { LightningLite } from "lightning-ts";
import { tf, nn, F, optim, data, manualSeed } from "lightning-ts/torch";

const STEPS = Number(process.env.BENCH_STEPS ?? 240);
const TINY_STEPS = Number(process.env.BENCH_TINY_STEPS ?? 3000);
const WARMUP = 20;
const SEED = 1234;

class MLP extends nn.Module {
  fc1 = new nn.Linear(784, 128);
  fc2 = new nn.Linear(128, 10);
  override forward(x: tf.Tensor): tf.Tensor {
    return this.fc2.forward(F.relu(this.fc1.forward(x)));
  }
}

class Tiny extends nn.Module {
  fc = new nn.Linear(4, 2);
  override forward(x: tf.Tensor): tf.Tensor {
    return this.fc.forward(x);
  }
}

interface Config {
  name: string;
  model: () => nn.Module;
  optimizer: (params: tf.Variable[]) => optim.Optimizer;
  features: number;
  classes: number;
  batch: number;
  steps: number;
}

type Loader = data.DataLoader<[tf.Tensor, tf.Tensor], [tf.Tensor, tf.Tensor]>;

function makeLoader(cfg: Config): () => Loader {
  const batches = 16;
  manualSeed(SEED);
  const ds = new data.TensorDataset(
    tf.keep(tf.randomUniform([batches * cfg.batch, cfg.features], 0, 1, "float32", 7)),
    tf.keep(tf.randomUniform([batches * cfg.batch], 0, cfg.classes, "int32", 8)),
  );
  return () => new data.DataLoader(ds, { batchSize: cfg.batch, shuffle: true, generator: SEED }) as unknown as Loader;
}

/** The plain loop, one step per `next()`; yields the step's loss. */
function* plainLoop(cfg: Config, loaderOf: () => Loader): Generator<number> {
  manualSeed(SEED);
  const model = cfg.model();
  const optimizer = cfg.optimizer(model.parameters());
  const loader = loaderOf();
  model.train();
  for (;;) {
    for (const [x, y] of loader) {
      optimizer.zeroGrad();
      const loss = F.crossEntropy(model.forward(x) as tf.Tensor, y);
      loss.backward();
      optimizer.step();
      yield loss.dataSync()[0];
    }
  }
}

/** The same loop written for Lite (what `lit-migrate --to lite` produces). */
class BenchLite extends LightningLite {
  *run(cfg: Config, loaderOf: () => Loader): Generator<number> {
    manualSeed(SEED);
    let model = cfg.model();
    let optimizer = cfg.optimizer(model.parameters());
    [model, optimizer] = this.setup(model, optimizer);
    const loader = this.setupDataloaders(loaderOf());
    model.train();
    for (;;) {
      for (const [x, y] of loader) {
        optimizer.zeroGrad();
        const loss = F.crossEntropy(model.forward(x) as tf.Tensor, y);
        this.backward(loss);
        optimizer.step();
        yield loss.dataSync()[0];
      }
    }
  }
}

type Which = "plain" | "lite";
interface Timing {
  wall: number[];
  cpu: number[];
}

/** `control`: the second loop is another plain loop, so the difference measured is pure noise. */
function compare(lite: BenchLite, cfg: Config, control = false): Record<Which, Timing> {
  const loaderOf = makeLoader(cfg);
  const loops: Record<Which, Generator<number>> = {
    plain: plainLoop(cfg, loaderOf),
    lite: control ? plainLoop(cfg, loaderOf) : (lite.run(cfg, loaderOf) as Generator<number>),
  };
  const timing: Record<Which, Timing> = { plain: { wall: [], cpu: [] }, lite: { wall: [], cpu: [] } };
  for (let i = 0; i < WARMUP + cfg.steps; i++) {
    const order: Which[] = i % 2 === 0 ? ["plain", "lite"] : ["lite", "plain"];
    const losses: Partial<Record<Which, number>> = {};
    for (const which of order) {
      const c0 = process.cpuUsage();
      const t0 = performance.now();
      losses[which] = loops[which].next().value as number;
      const wall = performance.now() - t0;
      const c = process.cpuUsage(c0);
      if (i >= WARMUP) {
        timing[which].wall.push(wall);
        timing[which].cpu.push((c.user + c.system) / 1000);
      }
    }
    if (!Object.is(losses.plain, losses.lite)) {
      throw new Error(`${cfg.name}, step ${i}: loss ${losses.lite} (lite) != ${losses.plain} (plain): not the same computation`);
    }
  }
  return timing;
}

const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
const mean = (xs: number[]) => sum(xs) / xs.length;
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
const pct = (x: number) => `${x >= 0 ? "+" : ""}${(100 * x).toFixed(2)}%`;

const backendBefore = tf.getBackend();
const lite = new BenchLite({ accelerator: "cpu", devices: 1, precision: "32-true" });
await lite.launch();
if (tf.getBackend() !== backendBefore) {
  throw new Error(`Lite switched the backend from ${backendBefore} to ${tf.getBackend()}: not the same backend`);
}
console.log(`backend ${tf.getBackend()}; loops interleaved step by step after ${WARMUP} warm-up steps`);

const mlp: Config = {
  name: "MLP 784-128-10, Adam, batch 64",
  model: () => new MLP(),
  optimizer: (p) => new optim.Adam(p, { lr: 1e-3 }),
  features: 784,
  classes: 10,
  batch: 64,
  steps: STEPS,
};
const tiny: Config = {
  name: "tiny Linear 4->2, SGD, batch 4",
  model: () => new Tiny(),
  optimizer: (p) => new optim.SGD(p, { lr: 1e-2 }),
  features: 4,
  classes: 2,
  batch: 4,
  steps: TINY_STEPS,
};

function report(title: string, t: Record<Which, Timing>, second = "lite"): void {
  console.log(`\n${title}`);
  for (const clock of ["cpu", "wall"] as const) {
    const p = t.plain[clock];
    const l = t.lite[clock];
    const overhead = sum(l) / sum(p) - 1;
    console.log(
      `  ${clock.padEnd(4)}: plain ${mean(p).toFixed(2)} ms/step (median ${median(p).toFixed(2)}), ` +
        `${second} ${mean(l).toFixed(2)} ms/step (median ${median(l).toFixed(2)}): ` +
        `ratio ${second}/plain ${(1 + overhead).toFixed(4)} (${pct(overhead)}; of medians ${pct(median(l) / median(p) - 1)})`,
    );
  }
}

const big = compare(lite, mlp);
report(`${mlp.name}, ${mlp.steps} steps each`, big);
if (process.env.BENCH_CONTROL === "1") {
  report(`control: the same, plain vs plain (noise floor)`, compare(lite, mlp, true), "plain2");
}

const small = compare(lite, tiny);
const costUs = (clock: "cpu" | "wall") => 1000 * (median(small.lite[clock]) - median(small.plain[clock]));
console.log(`\n${tiny.name}, ${tiny.steps} steps each: Lite's own cost per step`);
for (const clock of ["cpu", "wall"] as const) {
  console.log(
    `  ${clock.padEnd(4)}: plain median ${(1000 * median(small.plain[clock])).toFixed(1)} us/step, ` +
      `lite ${(1000 * median(small.lite[clock])).toFixed(1)} us/step: +${costUs(clock).toFixed(1)} us/step`,
  );
}
const bound = costUs("cpu") / 1000 / median(big.plain.cpu);
console.log(`  = ${pct(bound)} of the MLP's ${median(big.plain.cpu).toFixed(2)} ms step (cpu time)`);
console.log("\ntarget: overhead <= +2%");
