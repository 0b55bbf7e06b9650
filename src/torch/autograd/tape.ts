import { tf, engineInternals, type KernelParams, type TapeNode } from "../tf";
import { isGradEnabled, tfjsGradientsActive, enterTfjsGradients, exitTfjsGradients, noGrad } from "./grad_mode";
import { requiresGrad, markRequiresGrad, markGraphFreed } from "./requires_grad";

/**
 * The tape behind `loss.backward()`.
 *
 * tfjs records kernels on `engine.state.activeTape` only inside `tf.grad`-style calls. We keep
 * the engine's tape switched on for the whole process, but let a kernel record only when one of
 * its inputs requires grad (PyTorch's rule), so data preparation, metrics and `noGrad` blocks
 * never save tensors. `tf.grad`/`variableGrads`/`optimizer.minimize` still get tfjs's own
 * isolated tape: our tape is parked while they run.
 */

let installed = false;
let prunedLength = 0;

export function tape(): TapeNode[] {
  return engineInternals().state.activeTape ?? [];
}

function anyInputRequiresGrad(inputs: KernelParams["inputs"]): boolean {
  if (Array.isArray(inputs)) return inputs.some((t) => t != null && requiresGrad(t));
  for (const k in inputs) {
    const t = inputs[k];
    if (t != null && requiresGrad(t)) return true;
  }
  return false;
}

export function installTape(): void {
  if (installed) return;
  installed = true;
  const engine = engineInternals();
  const state = engine.state;
  state.activeTape = [];
  state.gradientDepth = 1;

  const runKernelFunc = engine.runKernelFunc.bind(engine);
  engine.runKernelFunc = (params: KernelParams) => {
    if (tfjsGradientsActive() || state.kernelDepth > 0) return runKernelFunc(params);
    if (isGradEnabled() && anyInputRequiresGrad(params.inputs)) return runKernelFunc(params);
    // Nothing to differentiate: run with the tape off so no tensors are saved for backward.
    const depth = state.gradientDepth;
    state.gradientDepth = 0;
    try {
      return runKernelFunc(params);
    } finally {
      state.gradientDepth = depth;
    }
  };

  const addTapeNode = engine.addTapeNode.bind(engine);
  engine.addTapeNode = (kernelName, inputs, outputs, gradientsFunc, saved, attrs) => {
    if (!tfjsGradientsActive()) {
      // As in PyTorch, only floating-point results carry gradients: a comparison or argMax
      // on a parameter is not part of the graph (tfjs has no gradient for most of them).
      const differentiable = outputs.filter((o) => o.dtype === "float32");
      if (differentiable.length === 0) {
        for (const t of saved) t.dispose();
        return;
      }
      for (const o of differentiable) markRequiresGrad(o);
    }
    addTapeNode(kernelName, inputs, outputs, gradientsFunc, saved, attrs);
    if (!tfjsGradientsActive() && state.activeTape && state.activeTape.length > 2 * prunedLength + 4096) {
      pruneTape();
    }
  };

  const gradients = engine.gradients.bind(engine);
  engine.gradients = (...args: unknown[]) => {
    const parkedTape = state.activeTape;
    const parkedDepth = state.gradientDepth;
    state.activeTape = null;
    state.gradientDepth = 0;
    enterTfjsGradients();
    try {
      return gradients(...args);
    } finally {
      exitTfjsGradients();
      state.activeTape = parkedTape;
      state.gradientDepth = parkedDepth;
    }
  };

  untapeTfjsOptimizers();
}

/**
 * tfjs's own optimizers update variables outside `tf.variableGrads`; like our optimizers'
 * `step()`, those updates must not be recorded.
 */
function untapeTfjsOptimizers(): void {
  const classes = [
    tf.SGDOptimizer,
    tf.MomentumOptimizer,
    tf.AdamOptimizer,
    tf.AdamaxOptimizer,
    tf.AdagradOptimizer,
    tf.AdadeltaOptimizer,
    tf.RMSPropOptimizer,
  ];
  for (const cls of classes) {
    const proto = cls.prototype as unknown as { applyGradients: (...a: unknown[]) => unknown };
    const apply = proto.applyGradients;
    proto.applyGradients = function (this: unknown, ...args: unknown[]) {
      return noGrad(() => apply.apply(this, args));
    };
  }
}

/** Releases a node: its saved tensors are disposed and its outputs can no longer backprop. */
export function releaseNode(node: TapeNode): void {
  for (const t of node.saved) t.dispose();
  node.saved = [];
  for (const o of node.outputs) markGraphFreed(o);
}

/**
 * Drops the nodes that no live tensor can reach: a node stays while one of its outputs is
 * alive or feeds a node that stays.
 */
export function pruneTape(): void {
  const state = engineInternals().state;
  const nodes = state.activeTape;
  if (!nodes || nodes.length === 0) {
    prunedLength = 0;
    return;
  }
  const needed = new Set<number>();
  const keep: boolean[] = new Array(nodes.length);
  let kept = 0;
  for (let i = nodes.length - 1; i >= 0; i--) {
    const node = nodes[i];
    const live = node.outputs.some((o) => !o.isDisposed || needed.has(o.id));
    keep[i] = live;
    if (live) {
      kept++;
      for (const k in node.inputs) needed.add(node.inputs[k].id);
    } else {
      releaseNode(node);
    }
  }
  if (kept !== nodes.length) state.activeTape = nodes.filter((_, i) => keep[i]);
  prunedLength = kept;
}

/** Number of nodes currently recorded (for tests and diagnostics). */
export function tapeLength(): number {
  return tape().length;
}

export function replaceTape(nodes: TapeNode[]): void {
  engineInternals().state.activeTape = nodes;
  prunedLength = Math.min(prunedLength, nodes.length);
}

export { tf };
