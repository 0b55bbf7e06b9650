/**
 * lightning-ts against PyTorch on this CPU: the same MLP (784-128-10) and CNN
 * (conv32-pool-conv64-pool-fc on 28×28×1), batch 64, Adam, random data, one thread each side
 * (PyTorch: `torch.set_num_threads(1)`; lightning-ts's WASM backend is single-threaded), the
 * plain PyTorch-style loop (`zeroGrad`, forward, cross-entropy, `backward`, `step`).
 *
 * Rounds alternate the two sides (lightning-ts in this process, PyTorch in a Python process per
 * round, timed inside Python so its start-up is not counted); each round reports samples per
 * second over its steps after warm-up, by the wall clock and per CPU-second of the process (the
 * one that other load on a shared machine disturbs less: time spent descheduled is not counted);
 * the ratio printed is the median of the rounds' ratios, with their range. Needs Debian's PyTorch (`apt-get install python3-torch`, run by
 * /usr/bin/python3); without it, says so and exits.
 *
 *   npx tsx bench/pytorch.ts                 (BENCH_ROUNDS=5, BENCH_MLP_STEPS=200, BENCH_CNN_STEPS=20)
 *
 * Goal (issue 11): MLP ≥ 0.33x, CNN ≥ 0.5x of PyTorch + OpenBLAS single-thread.
 */
import { spawnSync } from "node:child_process";
import { tf, nn, F, optim, manualSeed, ready } from "lightning-ts/torch";
import { MLP, CNN } from "./models.ts";
import { median } from "./stats.ts";

const PYTHON = process.env.BENCH_PYTHON ?? "/usr/bin/python3";
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const STEPS = { mlp: Number(process.env.BENCH_MLP_STEPS ?? 200), cnn: Number(process.env.BENCH_CNN_STEPS ?? 20) };
const WARMUP = 5;
const BATCH = 64;

const PY = `
import sys, time, torch, torch.nn as nn, torch.nn.functional as F
torch.set_num_threads(1)
torch.manual_seed(0)
kind, steps, warmup, batch = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
class MLP(nn.Module):
    def __init__(self):
        super().__init__(); self.fc1 = nn.Linear(784, 128); self.fc2 = nn.Linear(128, 10)
    def forward(self, x):
        return self.fc2(F.relu(self.fc1(torch.flatten(x, 1))))
class CNN(nn.Module):
    def __init__(self):
        super().__init__(); self.conv1 = nn.Conv2d(1, 32, 3, padding=1); self.conv2 = nn.Conv2d(32, 64, 3, padding=1); self.fc = nn.Linear(64 * 7 * 7, 10)
    def forward(self, x):
        x = F.max_pool2d(F.relu(self.conv1(x)), 2); x = F.max_pool2d(F.relu(self.conv2(x)), 2)
        return self.fc(torch.flatten(x, 1))
model = MLP() if kind == "mlp" else CNN()
opt = torch.optim.Adam(model.parameters(), lr=1e-3)
xs = torch.randn(8, batch, 1, 28, 28); ys = torch.randint(0, 10, (8, batch))
for i in range(warmup + steps):
    if i == warmup: t0 = time.perf_counter(); c0 = time.process_time()
    opt.zero_grad(); loss = F.cross_entropy(model(xs[i % 8]), ys[i % 8]); loss.backward(); opt.step()
print(steps * batch / (time.perf_counter() - t0), steps * batch / (time.process_time() - c0))
`;




/** Samples per second of wall-clock time and per CPU-second of the process. */
interface Rate {
  wall: number;
  cpu: number;
}

function ours(kind: "mlp" | "cnn", steps: number): Rate {
  manualSeed(0);
  const model = kind === "mlp" ? new MLP() : new CNN();
  const opt = new optim.Adam(model.parameters(), { lr: 1e-3 });
  const xs = Array.from({ length: 8 }, (_, i) => tf.randomNormal([BATCH, 1, 28, 28], 0, 1, "float32", i + 1));
  const ys = Array.from({ length: 8 }, (_, i) => tf.tensor1d(Array.from({ length: BATCH }, (_, j) => (i * 7 + j) % 10), "int32"));
  let t0 = 0;
  let c0 = process.cpuUsage();
  for (let i = 0; i < WARMUP + steps; i++) {
    if (i === WARMUP) {
      t0 = performance.now();
      c0 = process.cpuUsage();
    }
    opt.zeroGrad();
    const loss = F.crossEntropy(model.forward(xs[i % 8]!), ys[i % 8]!);
    loss.backward();
    opt.step();
    loss.dataSync();
  }
  const wall = (steps * BATCH) / ((performance.now() - t0) / 1000);
  const used = process.cpuUsage(c0);
  return { wall, cpu: (steps * BATCH) / ((used.user + used.system) / 1e6) };
}

function pytorch(kind: "mlp" | "cnn", steps: number): Rate {
  // torch.set_num_threads(1) bounds ATen's own threads, not OpenBLAS's pthread pool (Debian's
  // libopenblas0-pthread starts one per core): measured, PyTorch spent 2 CPU-seconds per second.
  const env = { ...process.env, OPENBLAS_NUM_THREADS: "1", OMP_NUM_THREADS: "1", MKL_NUM_THREADS: "1" };
  const r = spawnSync(PYTHON, ["-c", PY, kind, String(steps), String(WARMUP), String(BATCH)], { encoding: "utf8", env });
  if (r.status !== 0) throw new Error(`PyTorch run failed: ${r.stderr}`);
  const [wall, cpu] = r.stdout.trim().split(/\s+/).map(Number);
  return { wall: wall!, cpu: cpu! };
}

const probe = spawnSync(PYTHON, ["-c", "import torch; print(torch.__version__)"], { encoding: "utf8" });
if (probe.status !== 0) {
  console.log(`PyTorch is not installed for ${PYTHON} (apt-get install python3-torch): nothing to compare with.`);
  process.exit(0);
}
await ready();
console.log(`lightning-ts (${tf.getBackend()}) vs PyTorch ${probe.stdout.trim()} (1 thread), batch ${BATCH}, Adam; ${ROUNDS} rounds, samples/s:`);
for (const kind of ["mlp", "cnn"] as const) {
  const runs: Array<{ ours: Rate; torch: Rate }> = [];
  for (let round = 0; round < ROUNDS; round++) runs.push({ ours: ours(kind, STEPS[kind]), torch: pytorch(kind, STEPS[kind]) });
  for (const clock of ["wall", "cpu"] as const) {
    const mine = runs.map((r) => r.ours[clock]);
    const theirs = runs.map((r) => r.torch[clock]);
    const ratios = runs.map((r) => r.ours[clock] / r.torch[clock]);
    console.log(
      `  ${kind.toUpperCase().padEnd(4)} ${clock === "wall" ? "per second    " : "per CPU-second"} lightning-ts ${median(mine).toFixed(0).padStart(6)}  PyTorch ${median(theirs).toFixed(0).padStart(6)}  ` +
        `ratio ${median(ratios).toFixed(3)}x [${Math.min(...ratios).toFixed(3)}–${Math.max(...ratios).toFixed(3)}]`,
    );
  }
}
