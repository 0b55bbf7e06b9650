/**
 * What 16-bit emulation costs: one training step through Lite under each precision, relative to
 * 32-true, on the same backend, in one process, interleaved step by step (32-true, 16-mixed,
 * bf16-mixed, bf16-true, 32-true, …) so warm-up and machine load fall on all alike. Median CPU
 * time of this process per step (the kernels run on this thread), in `BENCH_ROUNDS` rounds of
 * `BENCH_STEPS` steps; the ratio printed is the median of the rounds' ratios, with their range.
 *
 * 1. MLP 784-128-10, Adam, batch 64.
 * 2. CNN conv32-pool-conv64-pool-fc on 28×28×1, Adam, batch 64.
 *
 *   npx tsx bench/precision.ts                    (backend: LIGHTNING_TS_BACKEND, default auto)
 *   BENCH_STEPS=100 BENCH_ROUNDS=7 npx tsx bench/precision.ts
 *
 * Target (issue 12): 16-mixed and bf16-mixed ≤ 1.25x the 32-true step on WASM.
 */
import { LightningLite } from "lightning-ts";
import { tf, nn, F, optim, manualSeed, ready } from "lightning-ts/torch";
import { MLP, CNN } from "./models.ts";
import { median } from "./stats.ts";

const STEPS = Number(process.env.BENCH_STEPS ?? 60);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const WARMUP = 5;
const PRECISIONS = ["32-true", "16-mixed", "bf16-mixed", "bf16-true"] as const;



class BenchLite extends LightningLite {
  run(): void {}
}


async function bench(name: string, makeModel: () => nn.Module, steps: number): Promise<void> {
  const x = tf.randomNormal([64, 1, 28, 28], 0, 1, "float32", 7);
  const y = tf.tensor1d(Array.from({ length: 64 }, (_, i) => i % 10), "int32");
  const runs = PRECISIONS.map((precision) => {
    manualSeed(1);
    const lite = new BenchLite({ accelerator: "auto", precision });
    const net = makeModel();
    const [model, opt] = lite.setup(net, new optim.Adam(net.parameters(), { lr: 1e-3 }));
    return { precision, lite, model, opt, times: [] as number[] };
  });
  const ratios = runs.map(() => [] as number[]);
  const ms = runs.map(() => [] as number[]);
  for (let round = 0; round < ROUNDS; round++) {
    for (const r of runs) r.times = [];
    for (let i = 0; i < (round === 0 ? WARMUP : 0) + steps; i++) {
      for (const r of i % 2 === 0 ? runs : [...runs].reverse()) {
        const c0 = process.cpuUsage();
        r.opt.zeroGrad();
        const loss = F.crossEntropy(r.model.forward(x) as tf.Tensor, y);
        r.lite.backward(loss);
        r.opt.step();
        loss.dataSync();
        const c = process.cpuUsage(c0);
        if (round > 0 || i >= WARMUP) r.times.push((c.user + c.system) / 1000);
      }
    }
    const base = median(runs[0]!.times);
    runs.forEach((r, k) => {
      ms[k]!.push(median(r.times));
      ratios[k]!.push(median(r.times) / base);
    });
  }
  console.log(`${name} (${tf.getBackend()}, batch 64, ${ROUNDS} rounds of ${steps} steps each; median CPU ms per step, ratio to 32-true: median of rounds [range]):`);
  runs.forEach((r, k) => {
    const rs = ratios[k]!;
    console.log(
      `  ${r.precision.padEnd(10)} ${median(ms[k]!).toFixed(2).padStart(7)} ms  ${median(rs).toFixed(2)}x  [${Math.min(...rs).toFixed(2)}–${Math.max(...rs).toFixed(2)}]`,
    );
  });
}

await ready();
await bench("MLP 784-128-10", () => new MLP(), STEPS);
await bench("CNN conv32-pool-conv64-pool-fc", () => new CNN(), Math.max(8, Math.floor(STEPS / 6)));
