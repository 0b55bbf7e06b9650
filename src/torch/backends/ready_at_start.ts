/**
 * `node --import lightning-ts/backend-ready train.ts`: the backend `LIGHTNING_TS_BACKEND` names is
 * running before the script's first line. Only WebGPU needs it: Dawn hands out its device
 * asynchronously and Node cannot block for that at import, so without this a plain script's
 * first tensors (and its `cuda.isAvailable()`) would see the CPU backend until its first `await`.
 * Lite and the Trainer wait for the backend themselves.
 */
// (the torch layer itself: importing it starts the backend, as the script's own import would)
import { ready } from "../index.ts";

await ready();
