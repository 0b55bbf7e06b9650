/**
 * One training step per kernel (issue 11's profile): the MLP 784-128-10, the CNN
 * conv32-pool-conv64-pool-fc, a 2-layer LSTM step (word_language_model's shape, shrunk) and a
 * TransformerEncoder step, batch 64 (LSTM: bptt 35 × batch 20), Adam, plain loop, on WASM and on
 * the pure-JS backend: the kernel profiler's table for each (top rows) and the share of the step
 * spent outside kernels (dispatch, tape, step scopes, optimizer bookkeeping).
 *
 *   npx tsx bench/profile.ts                  (BENCH_STEPS=20, BENCH_ROWS=8, BENCH_BACKENDS=wasm,cpu)
 */
import { tf, nn, F, optim, manualSeed, profiler, selectBackend, type BackendName } from "lightning-ts/torch";
import { MLP, CNN } from "./models.ts";

const STEPS = Number(process.env.BENCH_STEPS ?? 20);
const ROWS = Number(process.env.BENCH_ROWS ?? 8);
const BACKENDS = (process.env.BENCH_BACKENDS ?? "wasm,cpu").split(",") as BackendName[];



class LM extends nn.Module {
  encoder = new nn.Embedding(1000, 64);
  rnn = new nn.LSTM(64, 64, { numLayers: 2 });
  decoder = new nn.Linear(64, 1000);
  override forward(x: tf.Tensor): tf.Tensor {
    const [out] = this.rnn.forward(this.encoder.forward(x));
    return this.decoder.forward(out).reshape([-1, 1000]);
  }
}

class Encoder extends nn.Module {
  encoder = new nn.TransformerEncoder(new nn.TransformerEncoderLayer(64, 4, { dimFeedforward: 128, dropout: 0 }), 2);
  head = new nn.Linear(64, 10);
  override forward(x: tf.Tensor): tf.Tensor {
    return this.head.forward(this.encoder.forward(x).mean(0));
  }
}

interface Case {
  name: string;
  model: () => nn.Module;
  batch: () => [tf.Tensor, tf.Tensor];
}

const CASES: Case[] = [
  { name: "MLP 784-128-10, batch 64", model: () => new MLP(), batch: () => [tf.randomNormal([64, 1, 28, 28], 0, 1, "float32", 1), tf.tensor1d(Array.from({ length: 64 }, (_, i) => i % 10), "int32")] },
  { name: "CNN conv32-pool-conv64-pool-fc, batch 64", model: () => new CNN(), batch: () => [tf.randomNormal([64, 1, 28, 28], 0, 1, "float32", 2), tf.tensor1d(Array.from({ length: 64 }, (_, i) => i % 10), "int32")] },
  { name: "LSTM LM (vocab 1000, 64, 2 layers), bptt 35 x batch 20", model: () => new LM(), batch: () => [tf.randomUniform([35, 20], 0, 1000, "int32", 3), tf.randomUniform([700], 0, 1000, "int32", 4)] },
  { name: "TransformerEncoder (2 x d64, 4 heads), seq 32 x batch 64", model: () => new Encoder(), batch: () => [tf.randomNormal([32, 64, 64], 0, 1, "float32", 5), tf.tensor1d(Array.from({ length: 64 }, (_, i) => i % 10), "int32")] },
];

for (const backend of BACKENDS) {
  await selectBackend(backend);
  for (const c of CASES) {
    manualSeed(0);
    const model = c.model();
    const opt = new optim.Adam(model.parameters(), { lr: 1e-3 });
    const [x, y] = c.batch();
    const step = () => {
      opt.zeroGrad();
      const loss = F.crossEntropy(model.forward(x) as tf.Tensor, y);
      loss.backward();
      opt.step();
      loss.dataSync();
    };
    const steps = backend === "cpu" ? Math.max(2, Math.floor(STEPS / 10)) : STEPS;
    for (let i = 0; i < 3; i++) step();
    profiler.startKernelProfiler();
    for (let i = 0; i < steps; i++) step();
    const profile = profiler.stopKernelProfiler();
    console.log(`\n${c.name} — ${backend}, ${steps} steps, ${(profile.wallMs / steps).toFixed(2)} ms per step`);
    console.log(profiler.kernelProfileTable(profile, ROWS));
  }
}
