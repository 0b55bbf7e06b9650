/**
 * The fused SGD kernel against the chain of tfjs ops it replaces: same bits, step after step, for
 * plain SGD, momentum (with dampening), Nesterov with weight decay, and maximize, on WASM
 * (WebAssembly SIMD plus a JS tail) and on the pure-JS backend, with a parameter size that is not
 * a multiple of 4; and the momentum buffer in the state dict as the op chain leaves it.
 */
import { describe, expect, it } from "vitest";
import { tf, optim } from "lightning-ts/torch";
import { selectBackend } from "../../../../src/torch/backends/select";
import { runSteps } from "./steps";
import { countCalls } from "../../backends/kernel_swaps";

const CASES: Array<[string, (p: tf.Variable[]) => optim.Optimizer]> = [
  ["SGD", (p) => new optim.SGD(p, { lr: 0.1 })],
  ["SGD + momentum + dampening", (p) => new optim.SGD(p, { lr: 0.05, momentum: 0.9, dampening: 0.3 })],
  [
    "SGD + Nesterov + weight decay",
    (p) => new optim.SGD(p, { lr: 0.05, momentum: 0.8, nesterov: true, weightDecay: 1e-2 }),
  ],
  ["SGD + maximize + weight decay", (p) => new optim.SGD(p, { lr: 0.03, weightDecay: 0.1, maximize: true })],
];

for (const backend of ["wasm", "cpu"] as const) {
  describe(`fused SGD on ${backend}`, () => {
    for (const [name, make] of CASES) {
      it(`${name}: the same bits as the op chain over 12 steps, parameters and momentum buffers`, async () => {
        await selectBackend(backend);
        runSteps(make, true); // (the kernel registers on first use)
        let fused: number[][] = [];
        expect(countCalls("LightningTsSGDStep", backend, () => (fused = runSteps(make, true)))).toBe(24);
        const chain = runSteps(make, false);
        expect(fused).toEqual(chain);
        expect(fused.length).toBe(name.includes("momentum") || name.includes("Nesterov") ? 4 : 2);
      });
    }
  });
}
