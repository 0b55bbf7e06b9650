/**
 * The layers that run as fused kernels (src/torch/backends/kernels/batch_norm.ts, layer_norm.ts,
 * recurrent_cells.ts) against the tfjs op chain they replace (the same layer with the kernels
 * unregistered), interleaved in one run, on WASM and on the pure-JS backend: a training
 * forward + backward of nn.BatchNorm2d on a CNN's activations, of nn.LayerNorm on a small and a
 * GPT-2-sized Transformer's, and of nn.LSTM / nn.GRU in
 * word_language_model's shape (bptt 35 × batch 20, 64 → 64) and mnist_rnn's (28 steps × batch 64,
 * 28 → 64); an SGD step (fused/sgd_step.ts) over a ResNet-18's parameters and over as many
 * small ones, and an Adadelta step (fused/adadelta_step.ts) over pytorch/examples' mnist CNN's.
 *
 *   npx tsx bench/fused_layers.ts          (BENCH_ROUNDS=5, BENCH_BACKENDS=wasm,cpu)
 *
 * Each case: the median over rounds of each side's mean ms per forward + backward; the ratio
 * ops / fused.
 */
import { nn, optim, selectBackend, tf } from "../src/torch/index.ts";
import { withoutFusedOptimizers } from "../src/torch/optim/fused/fused_switch.ts";
import { setGrad } from "../src/torch/autograd/grad_store.ts";
import { BATCH_NORM_KERNELS } from "../src/torch/backends/kernels/batch_norm.ts";
import { LAYER_NORM_KERNELS } from "../src/torch/backends/kernels/layer_norm.ts";
import { RECURRENT_CELL_KERNELS } from "../src/torch/backends/kernels/recurrent_cells.ts";
import { median, perCall } from "./stats.ts";

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const BACKENDS = (process.env.BENCH_BACKENDS ?? "wasm,cpu").split(",") as Array<"wasm" | "cpu">;
const FUSED = [...BATCH_NORM_KERNELS, ...LAYER_NORM_KERNELS, ...RECURRENT_CELL_KERNELS];

function withoutFused(backend: string, fn: () => void): void {
  const configs = FUSED.map((name) => tf.getKernel(name, backend)!);
  for (const c of configs) tf.unregisterKernel(c.kernelName, backend);
  try {
    withoutFusedOptimizers(fn);
  } finally {
    for (const c of configs) tf.registerKernel(c);
  }
}

/**
 * One SGD step (momentum 0.9, weight decay 1e-4, as pytorch/examples' imagenet trains) over
 * parameters of the given sizes, with fixed gradients.
 */
function optimizerStep(sizes: number[], make: (params: tf.Variable[]) => optim.Optimizer): () => void {
  const params = sizes.map((n) => tf.variable(tf.randomNormal([n])));
  params.forEach((p) => setGrad(p, tf.randomNormal(p.shape)));
  const opt = make(params);
  return () => opt.step();
}

const sgd = (params: tf.Variable[]) => new optim.SGD(params, { lr: 0.1, momentum: 0.9, weightDecay: 1e-4 });

/** pytorch/examples' mnist CNN (conv 1→32→64, fc 9216→128→10), trained with Adadelta at lr 1. */
const MNIST_CNN = [288, 32, 18432, 64, 1179648, 128, 1280, 10];

/** A ResNet-18's 62 parameter tensors (conv weights, BatchNorm weights and biases, fc), in elements. */
const RESNET18 = [
  9408,
  64,
  64,
  ...[0, 1, 2, 3].flatMap(() => [36864, 64, 64]),
  73728,
  128,
  128,
  147456,
  128,
  128,
  8192,
  128,
  128,
  147456,
  128,
  128,
  147456,
  128,
  128,
  294912,
  256,
  256,
  589824,
  256,
  256,
  32768,
  256,
  256,
  589824,
  256,
  256,
  589824,
  256,
  256,
  1179648,
  512,
  512,
  2359296,
  512,
  512,
  131072,
  512,
  512,
  2359296,
  512,
  512,
  2359296,
  512,
  512,
  512000,
  1000,
];

/**
 * One forward + backward of `layer` on `input` (the first output summed). The input is a variable,
 * as a layer's input is in a network (the output of the layers before it): its gradient is part
 * of the backward.
 */
function trainStep(layer: nn.Module, input: tf.Tensor): () => void {
  const x = tf.variable(input);
  return () => {
    const out = layer.forward(x) as tf.Tensor | [tf.Tensor, unknown];
    const loss = tf.sum(Array.isArray(out) ? out[0] : out);
    (loss as unknown as { backward(): void }).backward();
    layer.zeroGrad();
    const grad = (x as unknown as { grad: tf.Tensor | null }).grad;
    (x as unknown as { grad: tf.Tensor | null }).grad = null;
    tf.dispose([loss, out as tf.Tensor, ...(grad ? [grad] : [])]);
  };
}

for (const backend of BACKENDS) {
  await selectBackend(backend);
  const cpu = backend === "cpu";
  const cases: Array<{ name: string; step: () => void; n: number }> = [
    {
      name: "BatchNorm2d(32) on [64, 32, 14, 14]",
      step: trainStep(new nn.BatchNorm2d(32), tf.randomNormal([64, 32, 14, 14])),
      n: cpu ? 3 : 10,
    },
    {
      name: "BatchNorm2d(64) on [16, 64, 8, 8]",
      step: trainStep(new nn.BatchNorm2d(64), tf.randomNormal([16, 64, 8, 8])),
      n: cpu ? 10 : 50,
    },
    {
      name: "LayerNorm(64) on [16, 32, 64]",
      step: trainStep(new nn.LayerNorm(64), tf.randomNormal([16, 32, 64])),
      n: cpu ? 10 : 50,
    },
    {
      name: "LayerNorm(768) on [8, 128, 768]",
      step: trainStep(new nn.LayerNorm(768), tf.randomNormal([8, 128, 768])),
      n: cpu ? 2 : 10,
    },
    {
      name: "LSTM(64, 64), 35 steps x batch 20",
      step: trainStep(new nn.LSTM(64, 64), tf.randomNormal([35, 20, 64])),
      n: cpu ? 2 : 10,
    },
    {
      name: "LSTM(28, 64), 28 steps x batch 64",
      step: trainStep(new nn.LSTM(28, 64, { batchFirst: true }), tf.randomNormal([64, 28, 28])),
      n: cpu ? 2 : 10,
    },
    {
      name: "GRU(64, 64), 35 steps x batch 20",
      step: trainStep(new nn.GRU(64, 64), tf.randomNormal([35, 20, 64])),
      n: cpu ? 2 : 10,
    },
    { name: "SGD step, a ResNet-18's 62 tensors (11.7M)", step: optimizerStep(RESNET18, sgd), n: cpu ? 1 : 5 },
    { name: "SGD step, 62 tensors of 4,096", step: optimizerStep(Array(62).fill(4096), sgd), n: cpu ? 10 : 50 },
    {
      name: "Adadelta step, mnist's CNN (1.2M)",
      step: optimizerStep(MNIST_CNN, (params) => new optim.Adadelta(params, { lr: 1 })),
      n: cpu ? 2 : 10,
    },
  ];
  const fused = cases.map(() => [] as number[]);
  const ops = cases.map(() => [] as number[]);
  for (let r = 0; r < ROUNDS; r++) {
    cases.forEach((c, i) => {
      fused[i]!.push(perCall(c.step, c.n));
      withoutFused(backend, () => ops[i]!.push(perCall(c.step, c.n)));
    });
  }
  console.log(`${backend}: ms per forward + backward (or optimizer step), median of ${ROUNDS} interleaved rounds`);
  cases.forEach((c, i) => {
    const f = median(fused[i]!);
    const o = median(ops[i]!);
    console.log(
      `  ${c.name.padEnd(44)} fused ${f.toFixed(3).padStart(8)}  ops ${o.toFixed(3).padStart(8)}  ${(o / f).toFixed(2)}x`,
    );
  });
}
