/**
 * Cross-backend comparison for the backend tests: run the same function on two backends and
 * compare every output and every gradient. The reference side is the pure-JS cpu backend with
 * tfjs's own kernels (ours swapped out), so a shim is never compared with itself.
 */
import { expect } from "vitest";
import { tf } from "../../../src/torch/tf";
import { selectBackend } from "../../../src/torch/backends/select";
import { withOriginalKernels } from "../../../src/torch/backends/kernels/index";

export { tf };

/** Inputs as plain data so each backend builds its own tensors. */
export interface CaseInput {
  shape: number[];
  values: number[];
  dtype?: "float32" | "int32";
  /** Differentiate with respect to this input (float32 only). */
  grad?: boolean;
}

/** Deterministic values in [-1, 1) of mixed sign, so pooling and activations see negatives. */
export function mixed(shape: number[], salt = 0): CaseInput {
  const n = shape.reduce((a, b) => a * b, 1);
  const values = Array.from({ length: n }, (_, i) => {
    const s = Math.sin(12.9898 * (i + 1) + 78.233 * (salt + 1)) * 43758.5453;
    return 2 * (s - Math.floor(s)) - 1;
  });
  return { shape, values, grad: true };
}

export function ints(shape: number[], values: number[]): CaseInput {
  return { shape, values, dtype: "int32", grad: false };
}

export interface CaseResult {
  output: Float32Array;
  grads: Float32Array[];
}

/**
 * Output of `f` and the gradients of sum(output · R) for a fixed mixed-sign R (so dy is not
 * all ones), with respect to every input marked `grad`.
 */
export function evaluate(f: (...xs: tf.Tensor[]) => tf.Tensor, inputs: CaseInput[]): CaseResult {
  const kept = tf.tidy(() => {
    const ts = inputs.map((i) => tf.tensor(i.values, i.shape, i.dtype ?? "float32"));
    const out = f(...ts);
    const r = tf.tensor(mixed(out.shape, 99).values, out.shape);
    const which = inputs.map((i, k) => (i.grad ? k : -1)).filter((k) => k >= 0);
    const loss = (...gs: tf.Tensor[]) => {
      const all = ts.map((t, k) => (which.includes(k) ? gs[which.indexOf(k)] : t));
      return tf.sum(tf.mul(f(...all), r));
    };
    const grads = which.length > 0 ? tf.grads(loss)(which.map((k) => ts[k])) : [];
    return [out, ...grads];
  });
  // Read outside tidy: tidy walks a returned typed array element by element.
  const arrays = kept.map((t) => t.dataSync() as Float32Array);
  tf.dispose(kept);
  return { output: arrays[0], grads: arrays.slice(1) };
}

/** Runs `f` on the pure-JS backend with tfjs's own kernels, and on `backend` as installed. */
export async function compareWithReference(
  backend: "wasm" | "cpu",
  f: (...xs: tf.Tensor[]) => tf.Tensor,
  inputs: CaseInput[],
): Promise<{ reference: CaseResult; actual: CaseResult }> {
  await selectBackend("cpu");
  const reference = withOriginalKernels("cpu", () => evaluate(f, inputs));
  await selectBackend(backend);
  const actual = evaluate(f, inputs);
  return { reference, actual };
}

/** max |a − b| / max |b|: error relative to the reference's scale. */
export function relativeError(actual: ArrayLike<number>, expected: ArrayLike<number>): number {
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < expected.length; i++) {
    diff = Math.max(diff, Math.abs(actual[i] - expected[i]));
    scale = Math.max(scale, Math.abs(expected[i]));
  }
  return scale === 0 ? diff : diff / scale;
}

export function expectSameResult(actual: CaseResult, reference: CaseResult, tolerance = 1e-5): void {
  expect(actual.output.length).toBe(reference.output.length);
  expect(relativeError(actual.output, reference.output), "forward").toBeLessThanOrEqual(tolerance);
  expect(actual.grads.length).toBe(reference.grads.length);
  reference.grads.forEach((g, i) => {
    expect(actual.grads[i].length, `gradient ${i} size`).toBe(g.length);
    // A gradient that is all zeros on both sides would pass trivially: the cases are built so
    // that every gradient carries signal.
    expect(maxAbs(g), `gradient ${i} of the reference is zero`).toBeGreaterThan(0);
    expect(relativeError(actual.grads[i], g), `gradient ${i}`).toBeLessThanOrEqual(tolerance);
  });
}

export function maxAbs(a: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]));
  return m;
}
