/**
 * Training throughput per backend: `npx tsx bench/backends.ts [--originals]`.
 *
 * Samples/s of an MLP (784-128-10) and a CNN (conv32-pool-conv64-pool-dense on 28x28x1),
 * batch 64, Adam, on WASM and on the pure-JS cpu backend, measured in one run so the ratios
 * compare like with like. Plain tfjs (`optimizer.minimize` on raw ops), so the numbers do not
 * depend on the torch layer's nn code, but with lightning-ts's backend selection and kernel
 * shims, as `import "lightning-ts/torch"` sets them up.
 *
 * `--originals` also times one CNN step with tfjs's own kernels where a shim replaces one
 * (WASM: Conv2DBackpropInput, MaxPoolGrad; pure JS: Conv2D, its gradients, MaxPoolGrad): about
 * a minute more, nearly all of it the pure-JS step.
 */
import os from "node:os";
import { tf } from "../src/torch/tf";
import { selectBackend } from "../src/torch/backends/select";
import { withOriginalKernels } from "../src/torch/backends/kernels/index";

const BATCH = 64;

interface Model {
  params: tf.Variable[];
  loss(x: tf.Tensor, y: tf.Tensor): tf.Scalar;
  input: number[];
}

function glorot(shape: number[], fanIn: number, fanOut: number, seed: number): tf.Variable {
  const limit = Math.sqrt(6 / (fanIn + fanOut));
  return tf.variable(tf.randomUniform(shape, -limit, limit, "float32", seed));
}

function mlp(): Model {
  const w1 = glorot([784, 128], 784, 128, 1);
  const b1 = tf.variable(tf.zeros([128]));
  const w2 = glorot([128, 10], 128, 10, 2);
  const b2 = tf.variable(tf.zeros([10]));
  return {
    params: [w1, b1, w2, b2],
    input: [BATCH, 784],
    loss: (x, y) => {
      const h = tf.relu(tf.add(tf.matMul(x, w1), b1));
      return tf.losses.softmaxCrossEntropy(y, tf.add(tf.matMul(h, w2), b2)) as tf.Scalar;
    },
  };
}

function cnn(): Model {
  const k1 = glorot([3, 3, 1, 32], 9, 288, 3);
  const c1 = tf.variable(tf.zeros([32]));
  const k2 = glorot([3, 3, 32, 64], 288, 576, 4);
  const c2 = tf.variable(tf.zeros([64]));
  const w = glorot([7 * 7 * 64, 10], 3136, 10, 5);
  const b = tf.variable(tf.zeros([10]));
  return {
    params: [k1, c1, k2, c2, w, b],
    input: [BATCH, 28, 28, 1],
    loss: (x, y) => {
      let h = tf.relu(tf.add(tf.conv2d(x as tf.Tensor4D, k1 as tf.Tensor4D, 1, "same"), c1));
      h = tf.maxPool(h as tf.Tensor4D, 2, 2, "valid");
      h = tf.relu(tf.add(tf.conv2d(h as tf.Tensor4D, k2 as tf.Tensor4D, 1, "same"), c2));
      h = tf.maxPool(h as tf.Tensor4D, 2, 2, "valid");
      const logits = tf.add(tf.matMul(tf.reshape(h, [BATCH, 7 * 7 * 64]), w), b);
      return tf.losses.softmaxCrossEntropy(y, logits) as tf.Scalar;
    },
  };
}

interface Measurement {
  /** Samples per wall-clock second. */
  samplesPerSec: number;
  /** Samples per second of this process's CPU time: the figure to trust on a busy machine. */
  samplesPerCpuSec: number;
  steps: number;
}

function cpuSeconds(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
}

/** Throughput over at least `minSteps` steps and `minSeconds`, after `warmup` untimed steps. */
function measure(make: () => Model, minSteps: number, minSeconds: number, warmup = 2): Measurement {
  const model = make();
  const x = tf.randomUniform(model.input, 0, 1, "float32", 11);
  const y = tf.oneHot(tf.randomUniform([BATCH], 0, 10, "int32", 12) as tf.Tensor1D, 10);
  const optimizer = tf.train.adam(1e-3);
  const step = () => tf.tidy(() => optimizer.minimize(() => model.loss(x, y), true, model.params)!.dataSync()[0]);
  for (let i = 0; i < warmup; i++) step();
  const before = tf.memory().numTensors;
  const c0 = cpuSeconds();
  const t0 = performance.now();
  let steps = 0;
  let loss = 0;
  while (steps < minSteps || performance.now() - t0 < minSeconds * 1000) {
    loss = step();
    steps++;
  }
  const seconds = (performance.now() - t0) / 1000;
  const cpu = cpuSeconds() - c0;
  if (!Number.isFinite(loss)) throw new Error(`loss became ${loss}`);
  // Adam creates its moment variables on the first step: only a warmed-up run must be flat.
  if (warmup > 0 && tf.memory().numTensors !== before) {
    throw new Error(`leaked ${tf.memory().numTensors - before} tensors`);
  }
  optimizer.dispose();
  for (const v of model.params) v.dispose();
  tf.dispose([x, y]);
  return { samplesPerSec: (steps * BATCH) / seconds, samplesPerCpuSec: (steps * BATCH) / cpu, steps };
}

async function main(): Promise<void> {
  const originals = process.argv.includes("--originals");
  const rows: Array<[string, string, Measurement]> = [];
  const result: Record<string, Record<string, Measurement>> = { mlp: {}, cnn: {} };
  for (const backend of ["wasm", "cpu"] as const) {
    await selectBackend(backend);
    result.mlp[backend] = measure(mlp, 20, backend === "wasm" ? 2 : 3);
    rows.push([backend, "MLP 784-128-10", result.mlp[backend]]);
    result.cnn[backend] = measure(cnn, backend === "wasm" ? 10 : 3, backend === "wasm" ? 5 : 8);
    rows.push([backend, "CNN conv32-pool-conv64-pool-dense", result.cnn[backend]]);
    if (originals) {
      // One timed step (after one warm-up on WASM): tfjs's pure-JS step takes about a minute.
      const o = withOriginalKernels(backend, () => measure(cnn, 1, 0, backend === "wasm" ? 1 : 0));
      rows.push([backend, "CNN, tfjs's own kernels where replaced", o]);
    }
  }
  console.log(`backend  model                                    samples/s  per CPU-s  steps`);
  for (const [backend, model, m] of rows) {
    console.log(
      `${backend.padEnd(8)} ${model.padEnd(40)} ${m.samplesPerSec.toFixed(0).padStart(9)} ${m.samplesPerCpuSec.toFixed(0).padStart(10)}  ${String(m.steps).padStart(5)}`,
    );
  }
  const ratio = (k: "mlp" | "cnn", f: (m: Measurement) => number) => (f(result[k].wasm) / f(result[k].cpu)).toFixed(1);
  console.log(
    `WASM / pure JS: MLP ${ratio("mlp", (m) => m.samplesPerSec)}x, CNN ${ratio("cnn", (m) => m.samplesPerSec)}x ` +
      `(per CPU-second: ${ratio("mlp", (m) => m.samplesPerCpuSec)}x, ${ratio("cnn", (m) => m.samplesPerCpuSec)}x); ` +
      `batch ${BATCH}, Adam, Node ${process.versions.node}, ${os.cpus().length} cores, load ${os.loadavg()[0].toFixed(1)}`,
  );
}

await main();
