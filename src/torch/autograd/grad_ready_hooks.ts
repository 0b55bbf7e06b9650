import type { tf } from "../tf.ts";

/**
 * What `backward()` tells a listener as it runs: first the variables the pass will reach, then
 * each one's gradient as soon as it is complete, in the order the pass finishes them (the last
 * layer's first) — the gradient the variable will hold once the pass ends (this pass's part
 * added to what `param.grad` held; null if the pass gave it none). PyTorch's
 * `register_post_accumulate_grad_hook`, on which DDP's reducer starts averaging a bucket of
 * gradients while the backward pass is still computing the earlier layers'; `start` is what
 * DDP's `find_unused_parameters` finds by walking the graph.
 *
 * A listener runs inside the backward pass: it may read a gradient (`dataSync`) but must not
 * keep or dispose it (the pass owns it until it becomes `param.grad`).
 */
export interface GradReadyListener {
  start(reached: ReadonlySet<tf.Variable>): void;
  ready(param: tf.Variable, grad: tf.Tensor | null): void;
}

const listeners = new Set<GradReadyListener>();

/** Adds a listener; the function returned removes it. */
export function onGradReady(listener: GradReadyListener): () => void {
  listeners.add(listener);
  return () => {
    listeners.delete(listener);
  };
}

export function gradReadyListeners(): ReadonlySet<GradReadyListener> {
  return listeners;
}
