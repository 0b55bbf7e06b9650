// Every layer's forward and gradient on the backend LIGHTNING_TS_BACKEND names: for each case, a
// seeded layer and input, the output, and the gradients of sum(output · w) (w fixed, so every
// output element matters) with respect to the input and every parameter. Prints one JSON line;
// webgpu.slow.test.ts compares the WASM and WebGPU runs.
import { tf, nn, F, manualSeed, ready, enableGrad } from "lightning-ts/torch";

await ready();

type Case = { name: string; make: () => nn.Module | (((x: tf.Tensor) => tf.Tensor) & { module?: nn.Module }); input: number[]; intInput?: number };

const conv = (x: tf.Tensor, m: nn.Module) => (m as unknown as { forward(x: tf.Tensor): tf.Tensor }).forward(x);
const cases: Case[] = [
  { name: "Linear", make: () => new nn.Linear(6, 5), input: [4, 6] },
  { name: "Conv2d", make: () => new nn.Conv2d(3, 4, 3, { padding: 1 }), input: [2, 3, 8, 8] },
  { name: "Conv2d stride 2, dilation 2, groups 2", make: () => new nn.Conv2d(4, 6, 3, { stride: 2, dilation: 2, groups: 2, padding: 2 }), input: [2, 4, 9, 9] },
  { name: "Conv1d", make: () => new nn.Conv1d(3, 4, 3, { padding: 1 }), input: [2, 3, 10] },
  { name: "ConvTranspose2d", make: () => new nn.ConvTranspose2d(3, 2, 3, { stride: 2, padding: 1, outputPadding: 1 }), input: [2, 3, 5, 5] },
  { name: "MaxPool2d", make: () => new nn.MaxPool2d(2), input: [2, 3, 8, 8] },
  { name: "MaxPool2d 3/2 padding 1", make: () => new nn.MaxPool2d(3, { stride: 2, padding: 1 }), input: [2, 3, 9, 9] },
  { name: "AvgPool2d", make: () => new nn.AvgPool2d(2), input: [2, 3, 8, 8] },
  { name: "AdaptiveAvgPool2d", make: () => new nn.AdaptiveAvgPool2d([1, 1]), input: [2, 3, 5, 5] },
  { name: "BatchNorm2d (training)", make: () => new nn.BatchNorm2d(3), input: [4, 3, 5, 5] },
  { name: "BatchNorm1d (training)", make: () => new nn.BatchNorm1d(6), input: [8, 6] },
  { name: "LayerNorm", make: () => new nn.LayerNorm([6]), input: [4, 6] },
  { name: "GroupNorm", make: () => new nn.GroupNorm(2, 4), input: [2, 4, 5, 5] },
  { name: "InstanceNorm2d", make: () => new nn.InstanceNorm2d(3, { affine: true }), input: [2, 3, 5, 5] },
  { name: "Embedding", make: () => new nn.Embedding(10, 4), input: [3, 5], intInput: 10 },
  { name: "LSTM", make: () => new nn.LSTM(4, 6, { numLayers: 2 }), input: [5, 3, 4] },
  { name: "GRU", make: () => new nn.GRU(4, 6), input: [5, 3, 4] },
  { name: "RNN", make: () => new nn.RNN(4, 6), input: [5, 3, 4] },
  { name: "MultiheadAttention", make: () => { const m = new nn.MultiheadAttention(8, 2); return Object.assign((x: tf.Tensor) => m.forward(x, x, x)[0], { module: m }); }, input: [5, 2, 8] },
  { name: "TransformerEncoderLayer", make: () => new nn.TransformerEncoderLayer(8, 2, { dimFeedforward: 16, dropout: 0 }), input: [5, 2, 8] },
  { name: "PixelShuffle", make: () => new nn.PixelShuffle(2), input: [2, 8, 3, 3] },
  { name: "Upsample bilinear", make: () => new nn.Upsample({ scaleFactor: 2, mode: "bilinear", alignCorners: false }), input: [2, 3, 4, 4] },
  { name: "activations", make: () => (x) => F.gelu(x).add(F.silu(x)).add(F.elu(x)).add(F.softplus(x)).add(F.leakyRelu(x, 0.1)).add(tf.tanh(x)).add(tf.sigmoid(x)), input: [4, 6] },
  { name: "softmax, logSoftmax", make: () => (x) => F.softmax(x, 1).add(F.logSoftmax(x, 1)), input: [4, 6] },
  { name: "losses", make: () => (x) => tf.stack([F.crossEntropy(x, tf.tensor1d([0, 2, 5, 1], "int32")), F.mseLoss(x, tf.onesLike(x)), F.binaryCrossEntropyWithLogits(x, tf.onesLike(x).mul(0.3)), F.smoothL1Loss(x, tf.zerosLike(x))]), input: [4, 6] },
  { name: "F.pad reflect, interpolate nearest", make: () => (x) => F.interpolate(F.pad(x, [1, 1, 1, 1], { mode: "reflect" }), { scaleFactor: 2, mode: "nearest" }), input: [2, 3, 4, 4] },
];

const out: Record<string, Record<string, number[]>> = {};
for (const c of cases) {
  manualSeed(1);
  const layer = c.make();
  const x = c.intInput ? tf.randomUniformInt(c.input, 0, c.intInput, 7) : tf.randomNormal(c.input, 0, 1, "float32", 7);
  const xv = c.intInput ? x : tf.variable(x);
  const owner = typeof layer === "function" ? (layer as { module?: nn.Module }).module : layer;
  const params = owner ? [...owner.namedParameters()] : [];
  const run = () => {
    let y = typeof layer === "function" ? layer(xv as tf.Tensor) : conv(xv as tf.Tensor, layer);
    if (Array.isArray(y)) y = y[0] as tf.Tensor;
    return y as tf.Tensor;
  };
  const y = enableGrad(run);
  const w = tf.randomNormal(y.shape, 0, 1, "float32", 11);
  const loss = y.mul(w).sum();
  loss.backward();
  const entry: Record<string, number[]> = { output: Array.from(y.dataSync()) };
  if (!c.intInput) entry["input.grad"] = Array.from(((xv as tf.Variable).grad ?? tf.zerosLike(x)).dataSync());
  for (const [name, p] of params) entry[`${name}.grad`] = Array.from((p.grad ?? tf.zerosLike(p)).dataSync());
  out[c.name] = entry;
}
console.log(`LAYERS ${tf.getBackend()} ${JSON.stringify(out)}`);
