/** The optim namespace as `lightning-ts/torch` exports it (`export * as optim`). */
export * as optim from "../../../src/torch/optim/index";
