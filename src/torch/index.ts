/**
 * `lightning-ts/torch`: PyTorch-style imperative training on TensorFlow.js.
 *
 * Importing it starts the backend (`LIGHTNING_TS_BACKEND`, default: tfjs-node if installed,
 * else WASM, else pure JS) synchronously and installs autograd, so a plain script needs no setup
 * call; only WebGPU starts asynchronously (`await ready()`).
 */
import { tf } from "./tf";
import { installAutograd } from "./autograd/index";
import { startBackendAtImport } from "./backends/select";

installAutograd();
startBackendAtImport();

export { tf };
export * as nn from "./nn/index";
export * as F from "./functional/index";
export * as optim from "./optim/index";
export * as data from "./data/index";
export { accelerator, cuda, device, Device, type DeviceLike } from "./device";
export { manualSeed, initialSeed, Generator } from "./random";
export { randn, rand, randint, randnLike, randLike, randperm } from "./random_ops";
export { multinomial, type MultinomialOptions } from "./multinomial";
export * as distributions from "./distributions/index";
export { noGrad, enableGrad, isGradEnabled, setGradEnabled, backward } from "./autograd/index";
export * from "./serialization/index";
export { selectBackend, ready, type BackendName } from "./backends/select";
