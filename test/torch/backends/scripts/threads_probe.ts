/**
 * Run by wasm_threads.slow.test.ts with LIGHTNING_TS_NUM_THREADS set: a first tensor op before
 * anything awaits (a plain script's first line), then, after `ready()`, a few CNN steps; prints
 * what ran as JSON and ends without calling process.exit (the pool must not keep it alive).
 */
import { tf, F, optim, manualSeed, ready, getNumThreads, selectBackend } from "lightning-ts/torch";
import { CNN } from "../../../../bench/models.ts";
import { wasmHeapModuleFailures } from "../../../../src/torch/backends/wasm_heap_module.ts";

const before = { backend: tf.getBackend(), value: Array.from(tf.tensor([1, 2]).square().dataSync()) };
await ready();
// Selecting WASM again (as Lite and the Trainer may) keeps the running pool.
await selectBackend("wasm");
manualSeed(0);
const model = new CNN();
const opt = new optim.Adam(model.parameters(), { lr: 1e-3 });
const x = tf.randomNormal([8, 1, 28, 28], 0, 1, "float32", 1);
const y = tf.tensor1d([0, 1, 2, 3, 4, 5, 6, 7], "int32");
const losses: number[] = [];
for (let i = 0; i < 3; i++) {
  opt.zeroGrad();
  const loss = F.crossEntropy(model.forward(x), y);
  loss.backward();
  opt.step();
  losses.push(loss.item());
}
console.log(JSON.stringify({ before, backend: tf.getBackend(), threads: getNumThreads(), failures: wasmHeapModuleFailures(), losses }));
