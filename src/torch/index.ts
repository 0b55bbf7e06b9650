/**
 * `lightning-ts/torch`: PyTorch-style imperative training on TensorFlow.js.
 *
 * Importing it starts the backend (`LIGHTNING_TS_BACKEND`, default: tfjs-node if installed,
 * else WASM, else pure JS) synchronously and installs autograd, so a plain script needs no setup
 * call; only WebGPU and multi-threaded WASM (`LIGHTNING_TS_NUM_THREADS` > 1) start
 * asynchronously (`await ready()`, or `node --import lightning-ts/backend-ready`). `LIGHTNING_TS_REPORT_BACKEND=1` says at exit which backend ran.
 */
import { tf } from "./tf.ts";
import { installAutograd } from "./autograd/index.ts";
import { startBackendAtImport } from "./backends/select.ts";
import { startProfilerFromEnvironment } from "./profiler/kernel_profiler.ts";
// For the published declarations: PyTorch's tensor methods (`loss.backward()`, `x.item()`) are
// declared there, and nothing else in them imports it.
import "./autograd/tensor_methods.ts";

installAutograd();
startBackendAtImport();
startProfilerFromEnvironment();
if (process.env.LIGHTNING_TS_REPORT_BACKEND === "1") {
  process.once("exit", () => process.stderr.write(`lightning-ts: ran on the ${tf.getBackend()} backend\n`));
}

export { tf };
export * as nn from "./nn/index.ts";
export * as F from "./functional/index.ts";
export * as optim from "./optim/index.ts";
export * as data from "./data/index.ts";
export { accelerator, cuda, device, Device, type DeviceLike } from "./device.ts";
export { manualSeed, initialSeed, Generator } from "./random.ts";
export { randn, rand, randint, randnLike, randLike, randperm } from "./random_ops.ts";
export { multinomial, type MultinomialOptions } from "./multinomial.ts";
export * as distributions from "./distributions/index.ts";
export * as amp from "./amp/index.ts";
export * as profiler from "./profiler/index.ts";
export { makeGrid, type MakeGridOptions } from "./vision/make_grid.ts";
export { saveImage } from "./vision/save_image.ts";
export { autocast } from "./amp/autocast.ts";
export { noGrad, enableGrad, isGradEnabled, setGradEnabled, backward } from "./autograd/index.ts";
export * from "./serialization/index.ts";
export { selectBackend, ready, type BackendName } from "./backends/select.ts";
export { getNumThreads, setNumThreads } from "./threads.ts";
