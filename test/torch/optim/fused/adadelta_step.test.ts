/**
 * The fused Adadelta kernel against the chain of tfjs ops it replaces: same bits, step after step,
 * parameters and both running averages, with and without weight decay and maximize, on WASM
 * (WebAssembly SIMD plus a JS tail) and on the pure-JS backend.
 */
import { describe, expect, it } from "vitest";
import { tf, optim } from "lightning-ts/torch";
import { selectBackend } from "../../../../src/torch/backends/select";
import { countCalls } from "../../backends/kernel_swaps";
import { runSteps } from "./steps";

const CASES: Array<[string, (p: tf.Variable[]) => optim.Optimizer]> = [
  ["Adadelta (pytorch/examples' mnist: lr 1)", (p) => new optim.Adadelta(p, { lr: 1 })],
  [
    "Adadelta + weight decay + maximize, rho 0.8",
    (p) => new optim.Adadelta(p, { lr: 0.5, rho: 0.8, eps: 1e-5, weightDecay: 0.05, maximize: true }),
  ],
];

for (const backend of ["wasm", "cpu"] as const) {
  describe(`fused Adadelta on ${backend}`, () => {
    for (const [name, make] of CASES) {
      it(`${name}: the same bits as the op chain over 12 steps, parameters and state`, async () => {
        await selectBackend(backend);
        runSteps(make, true); // (the kernel registers on first use)
        let fused: number[][] = [];
        expect(countCalls("LightningTsAdadeltaStep", backend, () => (fused = runSteps(make, true)))).toBe(24);
        expect(fused).toEqual(runSteps(make, false));
        expect(fused.length).toBe(6);
      });
    }
  });
}
