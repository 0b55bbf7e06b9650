/**
 * The fused Adam kernel against the chain of tfjs ops it replaces: same bits, step after step,
 * for Adam, AdamW, amsgrad, maximize and L2 weight decay, on WASM (WebAssembly SIMD plus a JS
 * tail) and on the pure-JS backend, with parameter sizes that are not multiples of 4.
 */
import { describe, expect, it } from "vitest";
import { tf, optim } from "lightning-ts/torch";
import { selectBackend } from "../../../../src/torch/backends/select";
import { runSteps } from "./steps";

const CASES: Array<[string, (p: tf.Variable[]) => optim.Optimizer]> = [
  ["Adam", (p) => new optim.Adam(p, { lr: 0.01 })],
  ["Adam + L2 weight decay + maximize", (p) => new optim.Adam(p, { lr: 0.01, weightDecay: 0.1, maximize: true })],
  ["AdamW", (p) => new optim.AdamW(p, { lr: 0.02, betas: [0.8, 0.95] })],
  ["Adam amsgrad", (p) => new optim.Adam(p, { lr: 0.01, amsgrad: true, eps: 1e-6 })],
];

for (const backend of ["wasm", "cpu"] as const) {
  describe(`fused Adam on ${backend}`, () => {
    for (const [name, make] of CASES) {
      it(`${name}: the same bits as the op chain over 12 steps`, async () => {
        await selectBackend(backend);
        const fused = runSteps(make, true);
        const chain = runSteps(make, false);
        expect(fused).toEqual(chain);
      });
    }
  });
}
