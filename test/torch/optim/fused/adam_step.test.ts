/**
 * The fused Adam kernel against the chain of tfjs ops it replaces: same bits, step after step,
 * for Adam, AdamW, amsgrad, maximize and L2 weight decay, on WASM (WebAssembly SIMD plus a JS
 * tail) and on the pure-JS backend, with parameter sizes that are not multiples of 4.
 */
import { describe, expect, it } from "vitest";
import { tf, optim } from "lightning-ts/torch";
import { selectBackend } from "../../../../src/torch/backends/select";
import { withoutFusedOptimizers } from "../../../../src/torch/optim/fused/adam_step";
import { getGrad, setGrad } from "../../../../src/torch/autograd/grad_store";

function run(make: (params: tf.Variable[]) => optim.Optimizer, fused: boolean): number[][] {
  const params = [tf.variable(tf.tensor(Array.from({ length: 1031 }, (_, i) => Math.sin(i) * 0.5))), tf.variable(tf.tensor([0.3, -0.2, 0.1]))];
  const opt = make(params);
  for (let step = 0; step < 12; step++) {
    params.forEach((p, k) => setGrad(p, tf.tensor(Array.from({ length: p.size }, (_, i) => Math.cos(i * 0.7 + step + k) * (step % 3 === 0 ? 1e-3 : 1)))));
    if (fused) opt.step();
    else withoutFusedOptimizers(() => opt.step());
  }
  expect(getGrad(params[0]!)).not.toBeNull();
  return params.map((p) => Array.from(p.dataSync()));
}

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
        const fused = run(make, true);
        const chain = run(make, false);
        expect(fused).toEqual(chain);
        expect(fused[0]).not.toEqual(Array.from({ length: 1031 }, (_, i) => Math.fround(Math.sin(i) * 0.5)));
      });
    }
  });
}
