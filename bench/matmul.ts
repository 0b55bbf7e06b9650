/**
 * tfjs-wasm's BatchMatMul with a transpose flag against lightning-ts's shim (transpose, then the
 * plain product: src/torch/backends/kernels/batch_mat_mul.ts), interleaved in one run:
 *
 *   npx tsx bench/matmul.ts
 *
 * 1. The three products of one nn.Linear(784, 128) step at batch 64: forward x·Wᵀ, and the
 *    backward's dy·W (no flag) and dyᵀ·x. Median ms over interleaved rounds.
 * 2. A whole training step of the torch layer's MLP 784-128-10 (F.linear, Adam, batch 64):
 *    samples/s with the shim and with tfjs's own kernel.
 *
 * BENCH_ROUNDS (default 30) sets the rounds.
 */
import { F, nn, optim, tf } from "../src/torch/index.ts";
import { withOriginalKernels } from "../src/torch/backends/kernels/index.ts";

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 30);
if (tf.getBackend() !== "wasm") throw new Error(`bench/matmul.ts compares WASM kernels; the backend is ${tf.getBackend()}`);

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

function timeOnce(f: () => tf.Tensor): number {
  const t0 = performance.now();
  const r = f();
  r.dataSync();
  const t = performance.now() - t0;
  r.dispose();
  return t;
}

const x = tf.randomNormal([64, 784]);
const w = tf.randomNormal([128, 784]);
const dy = tf.randomNormal([64, 128]);
const products: [string, () => tf.Tensor][] = [
  ["forward x·Wᵀ  [64,784]·[128,784]ᵀ", () => tf.matMul(x, w, false, true)],
  ["backward dy·W  [64,128]·[128,784]", () => tf.matMul(dy, w)],
  ["backward dyᵀ·x [64,128]ᵀ·[64,784]", () => tf.matMul(dy, x, true, false)],
];
console.log(`nn.Linear(784, 128) products, batch 64 (median of ${ROUNDS} interleaved rounds):`);
for (const [label, f] of products) {
  for (let i = 0; i < 3; i++) {
    timeOnce(f);
    withOriginalKernels("wasm", () => timeOnce(f));
  }
  const shim: number[] = [];
  const original: number[] = [];
  for (let i = 0; i < ROUNDS; i++) {
    shim.push(timeOnce(f));
    original.push(withOriginalKernels("wasm", () => timeOnce(f)));
  }
  const [s, o] = [median(shim), median(original)];
  console.log(`  ${label}   tfjs ${o.toFixed(2)} ms   shim ${s.toFixed(2)} ms   ${(o / s).toFixed(1)}x`);
}

class MLP extends nn.Module {
  fc1 = new nn.Linear(784, 128);
  fc2 = new nn.Linear(128, 10);
  override forward(input: tf.Tensor): tf.Tensor {
    return this.fc2.forward(F.relu(this.fc1.forward(input)));
  }
}

const model = new MLP();
const optimizer = new optim.Adam(model.parameters(), { lr: 1e-3 });
const batch = tf.randomNormal([64, 784]);
const target = tf.randomUniformInt([64], 0, 10);
function step(): number {
  const t0 = performance.now();
  optimizer.zeroGrad();
  const loss = F.crossEntropy(model.forward(batch), target);
  loss.backward();
  optimizer.step();
  loss.item();
  return performance.now() - t0;
}
for (let i = 0; i < 5; i++) {
  step();
  withOriginalKernels("wasm", step);
}
const shimSteps: number[] = [];
const originalSteps: number[] = [];
for (let i = 0; i < ROUNDS; i++) {
  shimSteps.push(step());
  originalSteps.push(withOriginalKernels("wasm", step));
}
const [s, o] = [median(shimSteps), median(originalSteps)];
console.log(`MLP 784-128-10 training step, Adam, batch 64 (median of ${ROUNDS} interleaved steps):`);
console.log(`  tfjs's BatchMatMul ${o.toFixed(2)} ms (${Math.round(64000 / o)} samples/s)   shim ${s.toFixed(2)} ms (${Math.round(64000 / s)} samples/s)   ${(o / s).toFixed(2)}x`);
