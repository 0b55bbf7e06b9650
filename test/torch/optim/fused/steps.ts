import { expect } from "vitest";
import { tf, optim } from "lightning-ts/torch";
import { withoutFusedOptimizers } from "../../../../src/torch/optim/fused/fused_switch";
import { getGrad, setGrad } from "../../../../src/torch/autograd/grad_store";

/**
 * Twelve steps of the optimizer `make` builds over a parameter of 1,031 values (SIMD groups and a
 * tail) and one of 3, with gradients of two magnitudes, through the fused kernels or (`fused`
 * false) the op chains: the parameters' values, then every tensor in the optimizer's state.
 */
export function runSteps(make: (params: tf.Variable[]) => optim.Optimizer, fused: boolean): number[][] {
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
  expect(Array.from(params[0]!.dataSync())).not.toEqual(
    Array.from({ length: 1031 }, (_, i) => Math.fround(Math.sin(i) * 0.5)),
  );
  const state = Object.values(opt.stateDict().state).flatMap((s) =>
    Object.values(s).filter((v): v is tf.Tensor => v instanceof tf.Tensor),
  );
  return [...params, ...state].map((t) => Array.from(t.dataSync()));
}
