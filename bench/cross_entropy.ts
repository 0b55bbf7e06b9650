/**
 * The fused cross-entropy kernel (src/torch/backends/kernels/cross_entropy.ts) against tfjs's
 * ops it replaces: one MLP 784-128-10 training step (batch 64, Adam, WASM, the plain loop),
 * interleaved in one process. The unfused side unregisters the kernel for its turn, so
 * `F.crossEntropy` takes its own fallback (log-softmax, one-hot, products, sums), the path every
 * backend without the kernel runs. Each round times STEPS steps of each side, the order of the
 * two alternating between rounds; printed: the median over the rounds of ms per step (wall
 * clock, and CPU time of the process, the steadier one on a shared machine) and of their ratio.
 *
 *   npx tsx bench/cross_entropy.ts           (BENCH_ROUNDS=21, BENCH_STEPS=100)
 */
import { tf, F, optim, manualSeed, selectBackend } from "lightning-ts/torch";
import { CROSS_ENTROPY } from "../src/torch/backends/kernels/cross_entropy.ts";
import { MLP } from "./models.ts";
import { median } from "./stats.ts";

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 21);
const STEPS = Number(process.env.BENCH_STEPS ?? 100);
const WARMUP = 20;
const BATCH = 64;

await selectBackend("wasm");
const fused = tf.getKernel(CROSS_ENTROPY, "wasm");
if (!fused) throw new Error("the fused cross-entropy kernel is not registered on WASM");

function withKernel<T>(on: boolean, fn: () => T): T {
  if (on) return fn();
  tf.unregisterKernel(CROSS_ENTROPY, "wasm");
  try {
    return fn();
  } finally {
    tf.registerKernel(fused!);
  }
}

const xs = Array.from({ length: 8 }, (_, i) => tf.randomNormal([BATCH, 1, 28, 28], 0, 1, "float32", i + 1));
const ys = Array.from({ length: 8 }, (_, i) => tf.tensor1d(Array.from({ length: BATCH }, (_, j) => (i * 7 + j) % 10), "int32"));

/** One side: its own model and optimizer (same seed), so neither side's state depends on the other. */
function side(on: boolean) {
  manualSeed(0);
  const model = new MLP();
  const opt = new optim.Adam(model.parameters(), { lr: 1e-3 });
  let i = 0;
  const step = () => {
    opt.zeroGrad();
    const loss = F.crossEntropy(model.forward(xs[i % 8]!), ys[i % 8]!);
    loss.backward();
    opt.step();
    i++;
    return loss.dataSync()[0]!;
  };
  /** ms per step, wall and CPU, over n steps. */
  const run = (n: number): { wall: number; cpu: number; loss: number } =>
    withKernel(on, () => {
      const t0 = performance.now();
      const c0 = process.cpuUsage();
      let loss = NaN;
      for (let k = 0; k < n; k++) loss = step();
      const c = process.cpuUsage(c0);
      return { wall: (performance.now() - t0) / n, cpu: (c.user + c.system) / 1000 / n, loss };
    });
  return { run };
}

const sides = { fused: side(true), unfused: side(false) };
const first = { fused: sides.fused.run(1).loss, unfused: sides.unfused.run(1).loss };
sides.fused.run(WARMUP);
sides.unfused.run(WARMUP);

const wall = { fused: [] as number[], unfused: [] as number[], ratio: [] as number[] };
const cpu = { fused: [] as number[], unfused: [] as number[], ratio: [] as number[] };
for (let r = 0; r < ROUNDS; r++) {
  const order = r % 2 === 0 ? (["fused", "unfused"] as const) : (["unfused", "fused"] as const);
  const got = {} as Record<"fused" | "unfused", { wall: number; cpu: number }>;
  for (const name of order) got[name] = sides[name].run(STEPS);
  for (const name of ["fused", "unfused"] as const) {
    wall[name].push(got[name].wall);
    cpu[name].push(got[name].cpu);
  }
  wall.ratio.push(got.unfused.wall / got.fused.wall);
  cpu.ratio.push(got.unfused.cpu / got.fused.cpu);
}

const f = (x: number) => x.toFixed(3);
console.log(`MLP 784-128-10, batch 64, Adam, WASM: ${ROUNDS} rounds x ${STEPS} steps each side, interleaved`);
console.log(`first loss: fused ${first.fused}, unfused ${first.unfused}`);
console.log(`wall ms/step: fused ${f(median(wall.fused))}, unfused ${f(median(wall.unfused))}; unfused/fused ${f(median(wall.ratio))} (range ${f(Math.min(...wall.ratio))}-${f(Math.max(...wall.ratio))})`);
console.log(`CPU  ms/step: fused ${f(median(cpu.fused))}, unfused ${f(median(cpu.unfused))}; unfused/fused ${f(median(cpu.ratio))} (range ${f(Math.min(...cpu.ratio))}-${f(Math.max(...cpu.ratio))})`);
