import { tf } from "../tf.ts";
import { setGradEnabled, isGradEnabled } from "./grad_mode.ts";
import { requiresGrad, isGraphFreed } from "./requires_grad.ts";
import { tape, replaceTape, releaseNode, pruneTape, refRequiresGrad, type GraphNode } from "./tape.ts";
import { freedTensorError, stepBoundary } from "./lifetime.ts";
import { traceLoss } from "./loss_trace.ts";
import { getGrad, setGrad } from "./grad_store.ts";
import { gradReadyListeners } from "./grad_ready_hooks.ts";

export interface BackwardOptions {
  /** dL/d(output) for a non-scalar output (PyTorch's `gradient`). */
  gradient?: tf.Tensor;
  /** Keep the graph so a second backward through it works (PyTorch's `retain_graph`). */
  retainGraph?: boolean;
  /** Append the loss to the loss trace (`LIGHTNING_TS_LOSS_TRACE`). */
  trace?: boolean;
}

/**
 * `loss.backward()`: walks the recorded tape from `loss` back to the trainable variables and
 * adds the gradients into each variable's `grad`, exactly like PyTorch accumulates into
 * `param.grad`. Only the part of the graph this loss used is released afterwards, so the GAN
 * pattern (D step on `fake.detach()`, then G step through `D(fake)`) sees G's graph intact.
 */
export function backward(loss: tf.Tensor, options: BackwardOptions = {}): void {
  if (loss.isDisposed) throw freedTensorError(loss);
  if (isGraphFreed(loss)) throw graphFreedError();
  if (!requiresGrad(loss)) {
    throw new Error(
      "backward(): the loss does not require grad: it was computed without any trainable " +
        "parameter, inside noGrad(), or from detach()-ed tensors",
    );
  }
  if (options.gradient == null && loss.size !== 1) {
    throw new Error(`backward(): grad can be implicitly created only for scalar outputs (loss has shape [${loss.shape}])`);
  }
  if (options.trace !== false) traceLoss(loss);
  // A backward pass marks a step in any loop shape (hand-sliced, while, full batch): what the
  // previous step made and dropped is garbage now.
  stepBoundary();

  const nodes = tape();
  // Reverse sweep: the nodes whose outputs lead to `loss`, in reverse tape order. A variable's
  // gradient is complete once the last of these (in that order) that reads it is done.
  const needed = new Set<number>([loss.id]);
  const path: number[] = [];
  const lastReader = new Map<tf.Variable, number>();
  for (let i = nodes.length - 1; i >= 0; i--) {
    const node = nodes[i];
    if (!node.outputs.some((o) => needed.has(o.id))) continue;
    path.push(i);
    for (const k in node.inputs) {
      const x = node.inputs[k];
      if (!refRequiresGrad(x)) continue;
      if (x instanceof tf.Variable) lastReader.set(x, path.length - 1);
      else if (x.graphFreed) throw graphFreedError();
      needed.add(x.id);
    }
  }
  const completedAt = new Map<number, tf.Variable[]>();
  for (const [v, at] of lastReader) {
    const done = completedAt.get(at);
    if (done) done.push(v);
    else completedAt.set(at, [v]);
  }

  const prevEnabled = isGradEnabled();
  setGradEnabled(false);
  try {
    const variables: tf.Variable[] = [];
    const listeners = gradReadyListeners();
    if (listeners.size > 0) {
      const reached = new Set(lastReader.keys());
      for (const l of listeners) l.start(reached);
    }
    const grads = tf.tidy(() => {
      const gradOf = new Map<number, tf.Tensor>();
      gradOf.set(loss.id, options.gradient ? options.gradient.clone() : tf.onesLike(loss));
      const out: tf.Tensor[] = [];
      path.forEach((i, at) => {
        backpropNode(nodes[i], gradOf);
        for (const v of completedAt.get(at) ?? []) {
          const g = gradOf.get(v.id);
          // What param.grad will hold: this pass's gradient added to the one it holds (PyTorch's
          // accumulation), made now so that listeners see it; handed out of the tidy below.
          const prev = getGrad(v);
          const total = g ? (prev ? tf.add(prev, g) : g) : prev;
          if (g) {
            variables.push(v);
            out.push(total!);
          }
          for (const l of listeners) l.ready(v, total);
        }
      });
      return out;
    });
    for (let i = 0; i < variables.length; i++) setGrad(variables[i], grads[i]);
  } finally {
    setGradEnabled(prevEnabled);
  }

  if (!options.retainGraph) {
    const used = new Set<GraphNode>();
    for (const i of path) {
      releaseNode(nodes[i]);
      used.add(nodes[i]);
    }
    // The current tape, not `nodes`: a collection while the gradients were accumulated may
    // have pruned it.
    replaceTape(tape().filter((n) => !used.has(n)));
    pruneTape();
  }
}

function backpropNode(node: GraphNode, gradOf: Map<number, tf.Tensor>): void {
  const dys = node.outputs.map((o) => gradOf.get(o.id) ?? null);
  if (node.gradient == null) {
    throw new Error(`backward(): tfjs has no gradient for the '${node.kernelName}' op, so nothing can backpropagate through it`);
  }
  const inputGrads = node.gradient(dys as tf.Tensor[]);
  for (const name in node.inputs) {
    const x = node.inputs[name];
    if (!refRequiresGrad(x)) continue;
    const gradFn = inputGrads[name];
    if (gradFn == null) throw new Error(`backward(): no gradient for input '${name}' of '${node.kernelName}'`);
    const dx = gradFn();
    if (!tf.util.arraysEqual(dx.shape, x.shape)) {
      throw new Error(`backward(): gradient of '${node.kernelName}' input '${name}' has shape [${dx.shape}], expected [${x.shape}]`);
    }
    const prev = gradOf.get(x.id);
    if (prev) {
      gradOf.set(x.id, tf.add(prev, dx));
      prev.dispose();
      dx.dispose();
    } else {
      gradOf.set(x.id, dx);
    }
  }
  // Every consumer of these outputs came later on the tape, so their gradients are complete
  // and no longer needed.
  for (const o of node.outputs) {
    const g = gradOf.get(o.id);
    if (g) {
      g.dispose();
      gradOf.delete(o.id);
    }
  }
}

function graphFreedError(): Error {
  return new Error(
    "backward(): trying to backward through the graph a second time: the first backward released " +
      "it. Pass { retainGraph: true } to the first backward if you need to go through it twice.",
  );
}
