import { tf } from "../tf.ts";

/**
 * `param.grad`: the gradient PyTorch accumulates on a parameter. Stored under a symbol on the
 * variable (tfjs owns the class); kept out of every step scope until `zeroGrad()` drops it.
 */
const GRAD = Symbol.for("lightning-ts.grad");

type WithGrad = tf.Variable & { [GRAD]?: tf.Tensor | null };

export function getGrad(v: tf.Variable): tf.Tensor | null {
  return (v as WithGrad)[GRAD] ?? null;
}

export function setGrad(v: tf.Variable, g: tf.Tensor | null): void {
  const prev = (v as WithGrad)[GRAD];
  if (prev && prev !== g && !prev.isDisposed) prev.dispose();
  if (g) tf.keep(g);
  (v as WithGrad)[GRAD] = g;
}

/** `zeroGrad()`: drops the gradients (PyTorch 2's default `set_to_none=True`). */
export function clearGrads(params: Iterable<tf.Variable>): void {
  for (const p of params) setGrad(p, null);
}
