/**
 * Shared test setup for the optim tests: the pure-JS cpu backend (deterministic float32) with
 * autograd installed, plus float64 reference helpers. The references re-implement PyTorch's
 * documented update formulas in plain JS numbers, independently of src/torch/optim.
 */
import { expect } from "vitest";
import { tf } from "../../../src/torch/tf";
import { installAutograd } from "../../../src/torch/autograd/index";
import { selectBackend } from "../../../src/torch/backends/select";

export { tf };

export async function setupTorch(): Promise<void> {
  installAutograd();
  await selectBackend("cpu");
}

/** A deterministic "gradient" for parameter element i at step t, magnitude ~1, mixed signs. */
export function gradAt(t: number, i: number, salt = 0): number {
  return Math.sin(1.3 * i + 0.7 * t + salt) + 0.25 * Math.cos(2.1 * t - 0.4 * i);
}

export function gradArray(t: number, n: number, salt = 0): number[] {
  return Array.from({ length: n }, (_, i) => gradAt(t, i, salt));
}

/** Elementwise |a - e| <= atol + rtol·|e|, with a readable failure message. */
export function expectClose(actual: ArrayLike<number>, expected: ArrayLike<number>, rtol = 1e-5, atol = 1e-7): void {
  expect(actual.length).toBe(expected.length);
  for (let i = 0; i < expected.length; i++) {
    const a = actual[i];
    const e = expected[i];
    if (!(Math.abs(a - e) <= atol + rtol * Math.abs(e))) {
      throw new Error(`element ${i}: got ${a}, expected ${e} (|diff| ${Math.abs(a - e)}, rtol ${rtol}, atol ${atol})`);
    }
  }
}

export function values(t: tf.Tensor): number[] {
  return Array.from(t.dataSync());
}

/** Runs `steps` optimizer steps, setting each param's grad to gradArray(t, size, salt=index). */
export function drive(params: tf.Variable[], opt: { step(): void }, steps: number, from = 0): void {
  for (let t = from; t < from + steps; t++) {
    params.forEach((p, k) => {
      p.grad = tf.tensor(gradArray(t, p.size, k), p.shape);
    });
    opt.step();
  }
}
