import { tf } from "../tf.ts";
import { peekLife } from "./lifetime.ts";

/**
 * Which tensors gradients flow through, PyTorch's `requires_grad`: trainable variables, and
 * every output of an op recorded on the tape. Stored as a property on the tensor object
 * because tfjs tensors are plain objects that we do not own.
 */
const RG = Symbol.for("lightning-ts.requiresGrad");
const FREED = Symbol.for("lightning-ts.graphFreed");

type Marked = tf.Tensor & { [RG]?: boolean; [FREED]?: boolean };

export function requiresGrad(t: tf.Tensor): boolean {
  if (t instanceof tf.Variable) return t.trainable;
  return (t as Marked)[RG] === true;
}

export function markRequiresGrad(t: tf.Tensor): void {
  (t as Marked)[RG] = true;
}

/** Set once backward has released the graph that produced `t`. */
export function markGraphFreed(t: tf.Tensor): void {
  (t as Marked)[FREED] = true;
}

export function isGraphFreed(t: tf.Tensor): boolean {
  // The tape marks the output's record (it holds no tensors), the tensor itself when marked here.
  return (t as Marked)[FREED] === true || peekLife(t)?.graphFreed === true;
}
