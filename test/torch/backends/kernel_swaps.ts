/**
 * Swapping registered kernels for a test's duration: without some (the layers fall back to
 * tfjs's op chains), or with a counter around one (to see that a path ran).
 */
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
