/**
 * The fused SGD kernel against the chain of tfjs ops it replaces: same bits, step after step, for
 * plain SGD, momentum (with dampening), Nesterov with weight decay, and maximize, on WASM
 * (WebAssembly SIMD plus a JS tail) and on the pure-JS backend, with a parameter size that is not
 * a multiple of 4; and the momentum buffer in the state dict as the op chain leaves it.
 */
import { describe, expect, it } from "vitest";
import { tf, optim } from "lightning-ts/torch";
import { selectBackend } from "../../../../src/torch/backends/select";
import { withoutFusedOptimizers } from "../../../../src/torch/optim/fused/fused_switch";
import { getGrad, setGrad } from "../../../../src/torch/autograd/grad_store";
import { countCalls } from "../../backends/kernel_swaps";

function run(make: (params: tf.Variable[]) => optim.Optimizer, fused: boolean): number[][] {
  const params = [
    tf.variable(tf.tensor(Array.from({ length: 1031 }, (_, i) => Math.sin(i) * 0.5))),
    tf.variable(tf.tensor([0.3, -0.2, 0.1])),
  ];
  const opt = make(params);
  for (let step = 0; step < 12; step++) {
    params.forEach((p, k) =>
      setGrad(
        p,
        tf.tensor(Array.from({ length: p.size }, (_, i) => Math.cos(i * 0.7 + step + k) * (step % 3 === 0 ? 1e-3 : 1))),
      ),
    );
    if (fused) opt.step();
    else withoutFusedOptimizers(() => opt.step());
  }
  expect(getGrad(params[0]!)).not.toBeNull();
  const buffers = Object.values(opt.stateDict().state).flatMap((s) =>
    s.momentumBuffer ? [Array.from((s.momentumBuffer as tf.Tensor).dataSync())] : [],
  );
  return [...params.map((p) => Array.from(p.dataSync())), ...buffers];
}

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
        run(make, true); // (the kernel registers on first use)
        let fused: number[][] = [];
        expect(countCalls("LightningTsSGDStep", backend, () => (fused = run(make, true)))).toBe(24);
        const chain = run(make, false);
        expect(fused).toEqual(chain);
        expect(fused.length).toBe(name.includes("momentum") || name.includes("Nesterov") ? 4 : 2);
        expect(fused[0]).not.toEqual(Array.from({ length: 1031 }, (_, i) => Math.fround(Math.sin(i) * 0.5)));
      });
    }
  });
}
