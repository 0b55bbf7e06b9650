/**
 * `lightning-ts/torch`: PyTorch-style imperative training on TensorFlow.js.
 *
 * Importing it selects the backend (`LIGHTNING_TS_BACKEND`, default: tfjs-node if installed,
 * else WASM, else pure JS) and installs autograd, so a plain script needs no setup call.
 */
import { tf } from "./tf";
import { installAutograd } from "./autograd/index";
import { selectBackend, backendFromEnv } from "./backends/select";

installAutograd();
await selectBackend(backendFromEnv());

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
export { selectBackend, type BackendName } from "./backends/select";
