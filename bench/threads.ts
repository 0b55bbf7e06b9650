/**
 * WASM thread scaling (issue 11): the benchmark MLP and CNN (batch 64, Adam, plain loop) trained
 * in a child process per run with `LIGHTNING_TS_NUM_THREADS` = 1, 2, 4, 8 (those up to the cores
 * Node reports), rounds interleaved so that load from elsewhere falls on every count alike. Prints
 * samples/s per count (median of the rounds) and its ratio to one thread; each child also checks
 * that its loss trace equals one thread's, bit for bit (XNNPACK splits work across threads by
 * output, so the sums are the same).
 *
 *   npx tsx bench/threads.ts          (BENCH_THREADS=1,2,4,8  BENCH_ROUNDS=5  BENCH_MLP_STEPS=100  BENCH_CNN_STEPS=10)
 */
import { spawnSync } from "node:child_process";
import os from "node:os";
import { fileURLToPath } from "node:url";
import { tf, F, optim, manualSeed, ready, getNumThreads } from "lightning-ts/torch";
import { MLP, CNN } from "./models.ts";
import { median } from "./stats.ts";

const BATCH = 64;
const WARMUP = 3;

async function child(kind: "mlp" | "cnn", steps: number): Promise<void> {
  await ready();
  manualSeed(0);
  const model = kind === "mlp" ? new MLP() : new CNN();
  const opt = new optim.Adam(model.parameters(), { lr: 1e-3 });
  const xs = Array.from({ length: 8 }, (_, i) => tf.randomNormal([BATCH, 1, 28, 28], 0, 1, "float32", i + 1));
  const ys = Array.from({ length: 8 }, (_, i) => tf.tensor1d(Array.from({ length: BATCH }, (_, j) => (i * 7 + j) % 10), "int32"));
  const losses: number[] = [];
  let t0 = 0;
  for (let i = 0; i < WARMUP + steps; i++) {
    if (i === WARMUP) t0 = performance.now();
    opt.zeroGrad();
    const loss = F.crossEntropy(model.forward(xs[i % 8]!), ys[i % 8]!);
    loss.backward();
    opt.step();
    losses.push(loss.item());
  }
  const rate = (steps * BATCH) / ((performance.now() - t0) / 1000);
  console.log(JSON.stringify({ rate, threads: getNumThreads(), backend: tf.getBackend(), losses }));
}

interface Run {
  rate: number;
  threads: number;
  backend: string;
  losses: number[];
}

function run(kind: "mlp" | "cnn", steps: number, threads: number): Run {
  const r = spawnSync(process.execPath, [...process.execArgv, fileURLToPath(import.meta.url), "--child", kind, String(steps)], {
    encoding: "utf8",
    env: { ...process.env, LIGHTNING_TS_NUM_THREADS: String(threads), LIGHTNING_TS_BACKEND: "wasm" },
  });
  if (r.status !== 0) throw new Error(`run with ${threads} threads failed: ${r.stderr}`);
  return JSON.parse(r.stdout.trim().split("\n").at(-1)!) as Run;
}

if (process.argv[2] === "--child") {
  await child(process.argv[3] as "mlp" | "cnn", Number(process.argv[4]));
} else {
  const cores = os.availableParallelism();
  const counts = (process.env.BENCH_THREADS ?? "1,2,4,8").split(",").map(Number).filter((n) => n === 1 || n <= cores);
  const rounds = Number(process.env.BENCH_ROUNDS ?? 5);
  const steps = { mlp: Number(process.env.BENCH_MLP_STEPS ?? 100), cnn: Number(process.env.BENCH_CNN_STEPS ?? 10) };
  console.log(`WASM threads (LIGHTNING_TS_NUM_THREADS), batch 64, Adam; ${cores} cores reported; ${rounds} interleaved rounds, samples/s:`);
  for (const kind of ["mlp", "cnn"] as const) {
    const rates = new Map<number, number[]>(counts.map((n) => [n, []]));
    let reference: number[] | null = null;
    for (let round = 0; round < rounds; round++) {
      for (const n of counts) {
        const r = run(kind, steps[kind], n);
        if (r.backend !== "wasm" || r.threads !== n) throw new Error(`asked for ${n} WASM threads, ran ${r.threads} on ${r.backend}`);
        reference ??= r.losses;
        if (r.losses.some((l, i) => l !== reference![i])) throw new Error(`${n} threads: the loss trace differs from one thread's`);
        rates.get(n)!.push(r.rate);
      }
    }
    const base = median(rates.get(counts[0]!)!);
    const row = counts.map((n) => `${n}: ${median(rates.get(n)!).toFixed(0)} (${(median(rates.get(n)!) / base).toFixed(2)}x)`).join("   ");
    console.log(`  ${kind.toUpperCase().padEnd(4)} ${row}   losses equal across counts`);
  }
}
