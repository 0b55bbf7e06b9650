/**
 * DDP throughput on this machine: the benchmark CNN (bench/models.ts) trained by Lite with a
 * global batch of 64 — one process with batch 64, then `strategy: "ddp"` with 2 processes of
 * batch 32 each — and the ratio of samples per second; one process with batch 32 alone, the
 * most each rank could do (2x that is DDP's ceiling on an idle machine with two free cores); and
 * two such processes at once, independent (no communication): what this machine gives two
 * processes at all, the ceiling that counts here. Each process uses one WASM thread. The runs
 * alternate and the median of each is reported.
 *
 *   npx tsx bench/ddp.ts [--rounds 3] [--steps 40]
 *
 * Run by the benchmark itself with `DDP_BENCH_CHILD=<devices>`: one timed run, its samples/s on
 * stdout (rank 0).
 */
import { spawn, spawnSync } from "node:child_process";
import { parseArgs } from "node:util";
import { LightningLite } from "lightning-ts";
import { tf, F, optim, manualSeed } from "lightning-ts/torch";
import { CNN } from "./models.ts";
import { median } from "./stats.ts";

const GLOBAL_BATCH = 64;

class Timed extends LightningLite {
  override run(steps: number): void {
    manualSeed(0);
    let model = new CNN();
    let optimizer = new optim.Adam(model.parameters(), { lr: 1e-3 });
    [model, optimizer] = this.setup(model, optimizer);
    const batch = Number(process.env.DDP_BENCH_BATCH) || GLOBAL_BATCH / this.worldSize;
    const x = tf.randomNormal([batch, 1, 28, 28]);
    const y = tf.randomUniformInt([batch], 0, 10);
    const step = () => {
      optimizer.zeroGrad();
      this.backward(F.crossEntropy(model.forward(x), y));
      optimizer.step();
    };
    for (let i = 0; i < 5; i++) step(); // warm-up
    this.barrier();
    const start = performance.now();
    for (let i = 0; i < steps; i++) step();
    this.barrier();
    const seconds = (performance.now() - start) / 1000;
    if (this.isGlobalZero) console.log(`SAMPLES_PER_S ${(steps * batch * this.worldSize) / seconds}`);
  }
}

const child = process.env.DDP_BENCH_CHILD;
if (child !== undefined) {
  const devices = Number(child);
  await new Timed({ accelerator: "wasm", devices, strategy: devices > 1 ? "ddp" : "auto" }).run(Number(process.env.DDP_BENCH_STEPS));
} else {
  const { values } = parseArgs({ options: { rounds: { type: "string", default: "3" }, steps: { type: "string", default: "40" } } });
  const once = (devices: number, batch = 0): number => {
    const r = spawnSync(process.execPath, [...process.execArgv, process.argv[1]!], {
      env: { ...process.env, DDP_BENCH_CHILD: String(devices), DDP_BENCH_STEPS: values.steps, DDP_BENCH_BATCH: String(batch) },
      encoding: "utf8",
    });
    const m = /SAMPLES_PER_S ([\d.]+)/.exec(r.stdout);
    if (!m) throw new Error(`devices=${devices} failed:\n${r.stderr}`);
    return Number(m[1]);
  };
  const concurrently = (batch: number): Promise<number> =>
    new Promise((done, fail) => {
      const c = spawn(process.execPath, [...process.execArgv, process.argv[1]!], {
        env: { ...process.env, DDP_BENCH_CHILD: "1", DDP_BENCH_STEPS: values.steps, DDP_BENCH_BATCH: String(batch) },
      });
      let out = "";
      c.stdout.on("data", (d: Buffer) => (out += d.toString()));
      c.on("close", () => {
        const m = /SAMPLES_PER_S ([\d.]+)/.exec(out);
        if (m) done(Number(m[1]));
        else fail(new Error("an independent run failed"));
      });
    });
  const one: number[] = [];
  const two: number[] = [];
  const half: number[] = [];
  const pair: number[] = [];
  for (let i = 0; i < Number(values.rounds); i++) {
    one.push(once(1));
    two.push(once(2));
    half.push(once(1, GLOBAL_BATCH / 2));
    const [p, q] = await Promise.all([concurrently(GLOBAL_BATCH / 2), concurrently(GLOBAL_BATCH / 2)]);
    pair.push(p + q);
  }
  const a = median(one);
  const b = median(two);
  const h = median(half);
  const c = median(pair);
  console.log(`CNN, global batch ${GLOBAL_BATCH}, WASM, ${values.steps} steps, median of ${values.rounds} alternating runs`);
  console.log(`1 process : ${a.toFixed(0)} samples/s   [${one.map((v) => v.toFixed(0)).join(", ")}]`);
  console.log(`2 processes (ddp): ${b.toFixed(0)} samples/s   [${two.map((v) => v.toFixed(0)).join(", ")}]`);
  console.log(`1 process, batch ${GLOBAL_BATCH / 2} (one rank's share): ${h.toFixed(0)} samples/s   [${half.map((v) => v.toFixed(0)).join(", ")}]`);
  console.log(`2 independent processes of batch ${GLOBAL_BATCH / 2} at once (no communication): ${c.toFixed(0)} samples/s together   [${pair.map((v) => v.toFixed(0)).join(", ")}]`);
  console.log(`ratio 2/1: ${(b / a).toFixed(2)}x (this machine's ceiling for two processes: ${(c / a).toFixed(2)}x); ddp / two independent processes: ${(b / c).toFixed(2)}`);
}
