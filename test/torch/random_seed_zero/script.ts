/**
 * A script that relies on explicit seeds, 0 included, and on `manualSeed`; run twice by
 * random_seed_zero.test.ts in separate processes, which must print the same trace. It prints
 * one JSON line: the draws, the training losses, and how often `Math.random` was called after
 * the imports.
 */
import { tf, nn, F, optim, manualSeed, randn } from "lightning-ts/torch";

let mathRandomCalls = 0;
const original = Math.random;
Math.random = () => {
  mathRandomCalls++;
  return original();
};

const arr = (t: tf.Tensor) => Array.from(t.dataSync());

// Explicit seeds without manualSeed: `seed = epoch` with epoch 0.
const seeded = {
  normal: arr(tf.randomNormal([4], 0, 1, "float32", 0)),
  truncated: arr(tf.truncatedNormal([4], 0, 1, "float32", 0)),
  standard: arr(tf.randomStandardNormal([4], "float32", 0)),
  uniform: arr(tf.randomUniform([4], 0, 1, "float32", 0)),
  uniformInt: arr(tf.randomUniformInt([4], 0, 100, 0)),
  gamma: arr(tf.randomGamma([4], 2, 1, "float32", 0)),
  multinomial: arr(tf.multinomial(tf.tensor1d([0.2, 0.3, 0.5]), 6, 0, true)),
  dropout: arr(tf.dropout(tf.ones([8]), 0.5, undefined, 0)),
};

// Under manualSeed: unseeded tfjs draws, randn, dropout and parameter init in a training loop.
manualSeed(0);
const model = new nn.Sequential(new nn.Linear(6, 8), new nn.ReLU(), new nn.Dropout(0.5), new nn.Linear(8, 1));
const opt = new optim.SGD(model.parameters(), { lr: 0.1 });
const losses: number[] = [];
for (let step = 0; step < 5; step++) {
  const x = tf.add(randn([4, 6]), tf.randomNormal([4, 6], 0, 0.1));
  const y = tf.randomUniform([4, 1]);
  opt.zeroGrad();
  const loss = F.mseLoss(model.forward(x), y);
  loss.backward();
  opt.step();
  losses.push(loss.item());
}

console.log(JSON.stringify({ seeded, losses, mathRandomCalls }));
