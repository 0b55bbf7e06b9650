/**
 * One training step of an LSTM language model, pytorch/examples word_language_model's shapes
 * shrunk (vocab 1000, emsize 64, nhid 64, 2 layers, bptt 35, batch 20): embedding -> LSTM ->
 * linear decoder -> crossEntropy -> loss.backward() -> SGD step, as that script does it
 * (hidden state carried across batches, detached). Prints the median ms per forward+backward
 * and per whole step after warm-up, and the LSTM's own share (forward+backward of the
 * recurrent layer alone, same shapes).
 *
 *   npx tsx bench/rnn.ts            (LIGHTNING_TS_BACKEND=cpu for pure JS)
 */
import { tf, nn, F, optim, manualSeed } from "lightning-ts/torch";
// Step scopes (what the Trainer opens around a step) are not public: taken from the module
// instance `lightning-ts/torch` loaded — dist/ (.js) by default, src/ (.ts) under the source
// condition — since a second instance's scopes would do nothing.
const torchEntry = import.meta.resolve("lightning-ts/torch");
const stepScopePath = new URL(`autograd/step_scope${torchEntry.endsWith(".ts") ? ".ts" : ".js"}`, torchEntry).href;
const { openStepScope, closeStepScope } = (await import(stepScopePath)) as typeof import("../src/torch/autograd/step_scope");

const [VOCAB, EMSIZE, NHID, NLAYERS, BPTT, BATCH] = [1000, 64, 64, 2, 35, 20];
const WARMUP = Number(process.env.BENCH_WARMUP ?? 5);
const STEPS = Number(process.env.BENCH_STEPS ?? 20);

manualSeed(0);
const encoder = new nn.Embedding(VOCAB, EMSIZE);
const rnn = new nn.LSTM(EMSIZE, NHID, { numLayers: NLAYERS });
const decoder = new nn.Linear(NHID, VOCAB);
const params = [...encoder.parameters(), ...rnn.parameters(), ...decoder.parameters()];
const opt = new optim.SGD(params, { lr: 20 });

const data = tf.keep(tf.randomUniform([BPTT, BATCH], 0, VOCAB, "int32", 1));
const targets = tf.keep(tf.reshape(tf.randomUniform([BPTT, BATCH], 0, VOCAB, "int32", 2), [-1]));
let hidden: [tf.Tensor, tf.Tensor] = [tf.keep(tf.zeros([NLAYERS, BATCH, NHID])), tf.keep(tf.zeros([NLAYERS, BATCH, NHID]))];

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1];

function lmStep(): [number, number] {
  const scope = openStepScope();
  const t0 = performance.now();
  opt.zeroGrad();
  const emb = encoder.forward(data);
  const [out, [h, c]] = rnn.forward(emb, hidden);
  const logits = decoder.forward(tf.reshape(out, [-1, NHID]));
  const loss = F.crossEntropy(logits, targets);
  loss.backward();
  loss.dataSync();
  const t1 = performance.now();
  opt.step();
  params[0].dataSync();
  const t2 = performance.now();
  const next: [tf.Tensor, tf.Tensor] = [tf.keep(h.detach()), tf.keep(c.detach())];
  closeStepScope(scope);
  hidden.forEach((t) => t.dispose());
  hidden = next;
  return [t1 - t0, t2 - t0];
}

const x = tf.keep(tf.randomUniform([BPTT, BATCH, EMSIZE], -1, 1, "float32", 3));
function lstmOnly(): number {
  const scope = openStepScope();
  const t0 = performance.now();
  const [out] = rnn.forward(x);
  const loss = tf.sum(tf.square(out));
  loss.backward();
  loss.dataSync();
  rnn.parameters()[0].grad!.dataSync();
  const t = performance.now() - t0;
  rnn.zeroGrad();
  closeStepScope(scope);
  return t;
}

for (let i = 0; i < WARMUP; i++) {
  lmStep();
  lstmOnly();
}
const fb: number[] = [];
const whole: number[] = [];
const lstm: number[] = [];
for (let i = 0; i < STEPS; i++) {
  const [a, b] = lmStep();
  fb.push(a);
  whole.push(b);
  lstm.push(lstmOnly());
}
console.log(
  `backend: ${tf.getBackend()}  LSTM LM vocab ${VOCAB}, emsize ${EMSIZE}, nhid ${NHID}, ${NLAYERS} layers, bptt ${BPTT}, batch ${BATCH}; median of ${STEPS} after ${WARMUP} warm-up`,
);
console.log(`forward+backward        : ${median(fb).toFixed(1)} ms/step`);
console.log(`whole step (+ SGD)      : ${median(whole).toFixed(1)} ms/step`);
console.log(`LSTM alone fwd+bwd      : ${median(lstm).toFixed(1)} ms`);
console.log(`live tensors at the end : ${tf.memory().numTensors}`);
