// The memory contract on the backend LIGHTNING_TS_BACKEND names: a plain training loop (forward,
// backward, Adam, item()) holds as many tensors — and on WebGPU as many GPU bytes — after 40
// steps as after 5, once what it no longer references is collected (the torch layer frees
// unreferenced tensors through the garbage collector, issue 8). Prints one JSON line for
// webgpu.slow.test.ts.
import { tf, nn, F, optim, manualSeed, ready } from "lightning-ts/torch";
import { collectGarbage } from "../../../../src/torch/autograd/lifetime.ts";

await ready();
manualSeed(0);
const model = new nn.Sequential(new nn.Conv2d(1, 4, 3, { padding: 1 }), new nn.ReLU(), new nn.Flatten(), new nn.Linear(4 * 8 * 8, 10));
const optimizer = new optim.Adam(model.parameters(), { lr: 1e-3 });
const x = tf.randomNormal([16, 1, 8, 8], 0, 1, "float32", 1);
const y = tf.randomUniformInt([16], 0, 10, 2);
const snapshot = () => {
  collectGarbage();
  const m = tf.memory() as tf.MemoryInfo & { numBytesInGPU?: number };
  return { numTensors: m.numTensors, numBytes: m.numBytes, numBytesInGPU: m.numBytesInGPU ?? null };
};
const at: Record<number, ReturnType<typeof snapshot>> = {};
for (let step = 1; step <= 40; step++) {
  optimizer.zeroGrad();
  const loss = F.crossEntropy(model.forward(x), y);
  loss.backward();
  optimizer.step();
  loss.item();
  if (step === 5 || step === 40) at[step] = snapshot();
}
console.log(`MEMORY ${tf.getBackend()} ${JSON.stringify(at)}`);
