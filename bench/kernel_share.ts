/**
 * The share of a training step spent outside kernels (tfjs's dispatch, the tape, autograd, JS),
 * issue 11's "≤ 15% on the MLP": every WASM kernel wrapped in nothing but a clock (nested kernels
 * a shim runs are counted with their caller), the MLP and CNN of the other benchmarks trained
 * (batch 64, Adam, plain loop), 5 timed runs each; the kernel profiler's own bookkeeping would
 * count as outside time, this adds ~0.1 µs per call.
 *
 *   npx tsx bench/kernel_share.ts          (BENCH_MLP_STEPS=300, BENCH_CNN_STEPS=20)
 */
import { tf, F, optim, manualSeed, ready } from "lightning-ts/torch";
import { MLP, CNN } from "./models.ts";
import { median } from "./stats.ts";

await ready();
console.log(`time outside kernels, ${tf.getBackend()}, batch 64, Adam (5 runs, median [range]):`);
const setups = (["mlp", "cnn"] as const).map((kind) => {
  manualSeed(0);
  const model = kind === "mlp" ? new MLP() : new CNN();
  const opt = new optim.Adam(model.parameters(), { lr: 1e-3 });
  const xs = Array.from({ length: 8 }, (_, i) => tf.randomNormal([64, 1, 28, 28], 0, 1, "float32", i + 1));
  const ys = Array.from({ length: 8 }, (_, i) => tf.tensor1d(Array.from({ length: 64 }, (_, j) => (i * 7 + j) % 10), "int32"));
  const step = (i: number) => {
    opt.zeroGrad();
    const loss = F.crossEntropy(model.forward(xs[i % 8]!), ys[i % 8]!);
    loss.backward();
    opt.step();
    loss.item();
  };
  // Warm-up, before the clocks go in: some kernels (the fused optimizer's) register on first use.
  for (let i = 0; i < 10; i++) step(i);
  return { kind, step };
});

let depth = 0;
let inKernels = 0;
let calls = 0;
for (const config of tf.getKernelsForBackend(tf.getBackend())) {
  const inner = config.kernelFunc;
  tf.unregisterKernel(config.kernelName, config.backendName);
  tf.registerKernel({
    ...config,
    kernelFunc: (args) => {
      if (depth > 0) return inner(args);
      depth++;
      calls++;
      const t = performance.now();
      try {
        return inner(args);
      } finally {
        inKernels += performance.now() - t;
        depth--;
      }
    },
  });
}

for (const { kind, step } of setups) {
  const steps = Number(kind === "mlp" ? (process.env.BENCH_MLP_STEPS ?? 300) : (process.env.BENCH_CNN_STEPS ?? 20));
  const shares: number[] = [];
  const times: number[] = [];
  let perStep = 0;
  for (let r = 0; r < 5; r++) {
    inKernels = 0;
    calls = 0;
    const t0 = performance.now();
    for (let i = 0; i < steps; i++) step(i);
    const wall = performance.now() - t0;
    shares.push(100 * (1 - inKernels / wall));
    times.push(wall / steps);
    perStep = calls / steps;
  }
  console.log(
    `  ${kind.toUpperCase().padEnd(4)} ${median(times).toFixed(2)} ms/step, ${perStep.toFixed(0)} kernel calls/step: ` +
      `outside kernels ${median(shares).toFixed(1)}% [${Math.min(...shares).toFixed(1)}–${Math.max(...shares).toFixed(1)}]`,
  );
}
