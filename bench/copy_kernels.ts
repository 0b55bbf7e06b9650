/**
 * The kernels that replaced tfjs's element-at-a-time ones (src/torch/backends/kernels/slice.ts,
 * concat.ts, tile.ts, pow.ts, log_softmax.ts) against tfjs's own, interleaved in one run on
 * the same tensors, on WASM and on the pure-JS backend:
 *
 *   npx tsx bench/copy_kernels.ts          (BENCH_ROUNDS=5, BENCH_BACKENDS=wasm,cpu)
 *
 * Each case: the median over rounds of each side's mean time per call; the ratio tfjs / ours.
 * `F.logSoftmax`'s "tfjs" side is tfjs's `tf.logSoftmax` (six kernels); the rest swap the
 * registered kernel back with `withOriginalKernels`.
 */
import { F, selectBackend, tf } from "../src/torch/index.ts";
import { withOriginalKernels } from "../src/torch/backends/kernels/index.ts";
import { median, perCall } from "./stats.ts";

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const BACKENDS = (process.env.BENCH_BACKENDS ?? "wasm,cpu").split(",") as Array<"wasm" | "cpu">;

for (const backend of BACKENDS) {
  await selectBackend(backend);
  const dataset = tf.randomNormal([60000, 784]);
  const gates = tf.randomNormal([20, 1024]);
  const steps = tf.randomNormal([35, 20, 256]);
  const sin = tf.randomNormal([5000, 16]);
  const cos = tf.randomNormal([5000, 16]);
  const images = Array.from({ length: 64 }, () => tf.randomNormal([1, 28, 28]));
  const mask = tf.tensor(
    Array.from({ length: 64 * 64 }, (_, i) => i % 64 <= Math.floor(i / 64)),
    [1, 1, 64, 64],
    "bool",
  );
  const activations = tf.randomNormal([64, 64, 512]);
  const scores = tf.randomNormal([700, 1000]);
  const mnistScores = tf.randomNormal([64, 10]);
  // (Slice, SplitV, Concat and Pack are replaced on WASM only: the pure-JS backend's already copy runs)
  const onWasm = backend === "wasm";
  const all: Array<{ name: string; ours: () => void; theirs?: () => void; n: number; wasmOnly?: boolean }> = [
    {
      name: "x.slice: a 64-row batch of [60000, 784]",
      ours: () => tf.dispose(tf.slice(dataset, [6400, 0], [64, 784])),
      n: 5,
      wasmOnly: true,
    },
    {
      name: "tf.split: LSTM gates [20, 1024] in four",
      ours: () => tf.dispose(tf.split(gates, 4, 1)),
      n: 500,
      wasmOnly: true,
    },
    {
      name: "x.slice: one step of [35, 20, 256]",
      ours: () => tf.dispose(tf.slice(steps, [7, 0, 0], [1, 20, 256])),
      n: 200,
      wasmOnly: true,
    },
    {
      name: "tf.stack: sin, cos on a new last axis [5000, 16]",
      ours: () => tf.dispose(tf.stack([sin, cos], 2)),
      n: 10,
      wasmOnly: true,
    },
    {
      name: "tf.stack: a batch of 64 [1, 28, 28] images",
      ours: () => tf.dispose(tf.stack(images)),
      n: 300,
      wasmOnly: true,
    },
    {
      name: "tf.tile: a bool mask [1, 1, 64, 64] to [16, 4, 64, 64]",
      ours: () => tf.dispose(tf.tile(mask, [16, 4, 1, 1])),
      n: 20,
    },
    { name: "tf.pow(x, 3): [64, 64, 512]", ours: () => tf.dispose(tf.pow(activations, 3)), n: 10 },
    {
      name: "F.logSoftmax: [700, 1000]",
      ours: () => tf.dispose(F.logSoftmax(scores, 1)),
      theirs: () => tf.dispose(tf.logSoftmax(scores)),
      n: 20,
    },
    {
      name: "F.logSoftmax: [64, 10]",
      ours: () => tf.dispose(F.logSoftmax(mnistScores, 1)),
      theirs: () => tf.dispose(tf.logSoftmax(mnistScores)),
      n: 2000,
    },
  ];
  const cases = all.filter((c) => onWasm || !c.wasmOnly);
  console.log(`${backend}: ms per call, median of ${ROUNDS} interleaved rounds`);
  for (const c of cases) {
    const ours: number[] = [];
    const theirs: number[] = [];
    for (let r = 0; r < ROUNDS; r++) {
      ours.push(perCall(c.ours, c.n));
      theirs.push(c.theirs ? perCall(c.theirs, c.n) : withOriginalKernels(backend, () => perCall(c.ours, c.n)));
    }
    const [o, t] = [median(ours), median(theirs)];
    console.log(
      `  ${c.name.padEnd(56)} ours ${o.toFixed(3).padStart(9)}  tfjs ${t.toFixed(3).padStart(9)}  ${(t / o).toFixed(1).padStart(6)}x`,
    );
  }
  tf.dispose([dataset, gates, steps, sin, cos, ...images, mask, activations, scores, mnistScores]);
}
