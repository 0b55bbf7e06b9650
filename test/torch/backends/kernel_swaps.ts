/**
 * Swapping registered kernels for a test's duration: without some (the layers fall back to
 * tfjs's op chains), or with a counter around one (to see that a path ran); and comparing what
 * the two paths give.
 */
import { expect } from "vitest";
import { tf } from "./parity";

/** Runs `fn` with the kernels `names` unregistered on `backend`, registering them again after. */
export function withoutKernels<T>(names: readonly string[], backend: string, fn: () => T): T {
  const configs = names.map((name) => tf.getKernel(name, backend)!);
  for (const c of configs) tf.unregisterKernel(c.kernelName, backend);
  try {
    return fn();
  } finally {
    for (const c of configs) tf.registerKernel(c);
  }
}

/** How many times `kernelName` ran on `backend` while `fn` ran. */
export function countCalls(kernelName: string, backend: string, fn: () => void): number {
  const config = tf.getKernel(kernelName, backend)!;
  let calls = 0;
  tf.unregisterKernel(kernelName, backend);
  tf.registerKernel({ ...config, kernelFunc: (args) => (calls++, config.kernelFunc(args)) });
  try {
    fn();
  } finally {
    tf.unregisterKernel(kernelName, backend);
    tf.registerKernel(config);
  }
  return calls;
}

/**
 * Each tensor of `actual` against the same one of `expected` (as flat values): the same length,
 * and every value within `relative` of the tensor's scale, max(floor, its largest |value|).
 */
export function expectEachWithin(actual: number[][], expected: number[][], relative: number, floor = 0): void {
  expect(actual.length).toBe(expected.length);
  actual.forEach((a, k) => {
    const b = expected[k]!;
    expect(a.length, `tensor ${k}`).toBe(b.length);
    const scale = Math.max(floor, ...b.map(Math.abs));
    const worst = Math.max(0, ...a.map((v, i) => Math.abs(v - b[i]!)));
    expect(worst, `tensor ${k}`).toBeLessThanOrEqual(relative * scale);
  });
}
