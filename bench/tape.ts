/**
 * The cost of PyTorch-style `loss.backward()` against tfjs's own `optimizer.minimize`, on the
 * same backend, model, data and optimizer (tf.train.adam), measured in one run, interleaved.
 *
 *   npx tsx bench/tape.ts            (LIGHTNING_TS_BACKEND=cpu for pure JS)
 */
import { tf } from "lightning-ts/torch";
// With the extension: tsx loads "../src/torch/autograd/step_scope" as a second module instance
// (not the one `lightning-ts/torch` installed), whose scopes would do nothing.
const stepScopePath = "../src/torch/autograd/step_scope.ts";
const { openStepScope, closeStepScope } = (await import(stepScopePath)) as typeof import("../src/torch/autograd/step_scope");

const BATCH = 64;
const STEPS = Number(process.env.BENCH_STEPS ?? 60);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 4);

function makeModel() {
  const glorot = (fanIn: number, fanOut: number) =>
    tf.variable(tf.randomUniform([fanIn, fanOut], -Math.sqrt(6 / (fanIn + fanOut)), Math.sqrt(6 / (fanIn + fanOut)), "float32", 1));
  const w1 = glorot(784, 128);
  const b1 = tf.variable(tf.zeros([128]));
  const w2 = glorot(128, 10);
  const b2 = tf.variable(tf.zeros([10]));
  const params = [w1, b1, w2, b2];
  const loss = (x: tf.Tensor, y: tf.Tensor) => {
    const logits = tf.add(tf.matMul(tf.relu(tf.add(tf.matMul(x, w1), b1)), w2), b2);
    return tf.losses.softmaxCrossEntropy(y, logits);
  };
  return { params, loss };
}

const x = tf.keep(tf.randomUniform([BATCH, 784], 0, 1, "float32", 2));
const y = tf.keep(tf.oneHot(tf.randomUniform([BATCH], 0, 10, "int32", 3), 10).toFloat());

function minimizeLoop(steps: number) {
  const { loss } = makeModel();
  const opt = tf.train.adam(1e-3);
  const t0 = performance.now();
  for (let i = 0; i < steps; i++) {
    const l = opt.minimize(() => loss(x, y) as tf.Scalar, true);
    l!.dataSync();
    l!.dispose();
  }
  return performance.now() - t0;
}

function backwardLoop(steps: number) {
  const { params, loss } = makeModel();
  const opt = tf.train.adam(1e-3);
  const t0 = performance.now();
  for (let i = 0; i < steps; i++) {
    const scope = openStepScope();
    const l = loss(x, y);
    l.backward();
    const grads: Record<string, tf.Variable> = {};
    for (const p of params) grads[p.name] = p.grad! as tf.Variable;
    opt.applyGradients(grads);
    for (const p of params) p.grad = null;
    l.dataSync();
    closeStepScope(scope);
  }
  return performance.now() - t0;
}

minimizeLoop(10);
backwardLoop(10);
let tMin = 0;
let tBack = 0;
for (let r = 0; r < ROUNDS; r++) {
  tMin += minimizeLoop(STEPS);
  tBack += backwardLoop(STEPS);
}
const n = STEPS * ROUNDS;
const ratio = tBack / tMin;
console.log(`backend: ${tf.getBackend()}  MLP 784-128-10, batch ${BATCH}, Adam, ${n} steps each, interleaved`);
console.log(`optimizer.minimize : ${((tMin / n)).toFixed(2)} ms/step  ${((BATCH * n * 1000) / tMin).toFixed(0)} samples/s`);
console.log(`loss.backward()    : ${((tBack / n)).toFixed(2)} ms/step  ${((BATCH * n * 1000) / tBack).toFixed(0)} samples/s`);
console.log(`backward / minimize: ${ratio.toFixed(3)}  (${((ratio - 1) * 100).toFixed(1)}% ${ratio >= 1 ? "slower" : "faster"})`);
