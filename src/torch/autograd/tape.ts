import type { TensorInfo } from "@tensorflow/tfjs-core";
import { tf, engineInternals, type EngineInternals, type KernelParams } from "../tf.ts";
import { isGradEnabled, tfjsGradientsActive, enterTfjsGradients, exitTfjsGradients, noGrad } from "./grad_mode.ts";
import { requiresGrad, markRequiresGrad } from "./requires_grad.ts";
import { findKernel } from "../backends/kernel_lookup.ts";
import { adoptResult, freedTensorError, lifeOf, onCollected, setCreatingOp, type Life } from "./lifetime.ts";

/**
 * The tape behind `loss.backward()`.
 *
 * tfjs records kernels on `engine.state.activeTape` only inside `tf.grad`-style calls. We keep
 * the engine's tape switched on for the whole process, but let a kernel record only when one of
 * its inputs requires grad (PyTorch's rule), so data preparation, metrics and `noGrad` blocks
 * never save tensors. `tf.grad`/`variableGrads`/`optimizer.minimize` still get tfjs's own
 * isolated tape: our tape is parked while they run.
 *
 * A node holds no tensor the program sees: its inputs and outputs are `Life` records (id,
 * shape, flags) or variables, and only its saved tensors are real. So, as in PyTorch, a graph
 * lives exactly as long as a tensor that can reach it: once the garbage collector frees the
 * outputs (`lifetime.ts`), the next prune releases the nodes and their saved tensors.
 */

/** What a node's input is: a variable (a gradient leaf) or another tensor's record. */
export type TapeRef = tf.Variable | Life;

export interface GraphNode {
  id: number;
  kernelName: string;
  inputs: Record<string, TapeRef>;
  outputs: Life[];
  saved: tf.Tensor[];
  gradient?: (dys: tf.Tensor[]) => Record<string, () => tf.Tensor>;
}

export function refRequiresGrad(x: TapeRef): boolean {
  return x instanceof tf.Variable ? x.trainable : x.requiresGrad;
}

let installed = false;
let prunedLength = 0;

export function tape(): GraphNode[] {
  return (engineInternals().state.activeTape as unknown as GraphNode[] | null) ?? [];
}

/** Whether an input requires grad; throws the one-line error for a disposed input. */
export function checkInputs(inputs: KernelParams["inputs"], gradOn: boolean): boolean {
  let any = false;
  if (Array.isArray(inputs)) {
    for (const t of inputs) {
      if (t == null) continue;
      if (t.isDisposed) throw freedTensorError(t);
      if (gradOn && !any && requiresGrad(t)) any = true;
    }
    return any;
  }
  for (const k in inputs) {
    const t = inputs[k];
    if (t == null) continue;
    if (t.isDisposed) throw freedTensorError(t);
    if (gradOn && !any && requiresGrad(t)) any = true;
  }
  return any;
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
    const anyGrad = checkInputs(params.inputs, isGradEnabled());
    const prevOp = setCreatingOp(params.kernelName ?? null);
    const depth = state.gradientDepth;
    // Nothing to differentiate: run with the tape off so no tensors are saved for backward.
    if (!anyGrad) state.gradientDepth = 0;
    try {
      return runKernelFunc(params);
    } finally {
      state.gradientDepth = depth;
      setCreatingOp(prevOp);
    }
  };

  // tfjs saves a tensor for backward as `keep(clone(t))`: an Identity kernel through the whole
  // dispatch, and a tape node for the clone, which our tape then records and prunes. The saved
  // tensor is read only by this tape's gradient functions, never differentiated itself: the
  // Identity kernel alone (a shared buffer on WASM and the pure-JS backend) makes the same tensor.
  const saveTensors = engine.saveTensorsForBackwardMode.bind(engine);
  engine.saveTensorsForBackwardMode = (tensors) => {
    if (tfjsGradientsActive()) return saveTensors(tensors);
    return tensors.map((t) => engine.keep(shareForBackward(engine, t)));
  };

  const addTapeNode = engine.addTapeNode.bind(engine);
  engine.addTapeNode = (kernelName, inputs, outputs, gradientsFunc, saved, attrs) => {
    if (tfjsGradientsActive()) {
      addTapeNode(kernelName, inputs, outputs, gradientsFunc, saved, attrs);
      return;
    }
    const gradConfig = tf.getGradient(kernelName);
    recordNode(kernelName, inputs, outputs, (gradConfig?.gradFunc ?? gradientsFunc) as GradientFunc | null, saved, attrs);
  };
  onCollected(pruneTape);

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

  retainlessCustomGrad(engine as unknown as CustomGradEngine);
  untapeTfjsOptimizers();
}

/** What a kernel's gradient function is (tfjs's `GradConfig.gradFunc`, or a custom op's backward). */
export type GradientFunc = (dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[], attrs: unknown) => Record<string, () => tf.Tensor>;

/**
 * Records a kernel that ran with an input requiring grad: tfjs's `addTapeNode`, holding the
 * records of its inputs and outputs instead of the tensors.
 */
export function recordNode(
  kernelName: string,
  inputs: Record<string, tf.Tensor>,
  outputs: tf.Tensor[],
  gradFunc: GradientFunc | null,
  saved: tf.Tensor[],
  attrs: unknown,
): void {
  const state = engineInternals().state as unknown as { activeTape: GraphNode[] | null; nextTapeNodeId: number };
  // As in PyTorch, only floating-point results carry gradients: a comparison or argMax
  // on a parameter is not part of the graph (tfjs has no gradient for most of them).
  if (!outputs.some((o) => o.dtype === "float32")) {
    for (const t of saved) t.dispose();
    return;
  }
  const outs: Life[] = [];
  for (const o of outputs) {
    const life = lifeOf(o);
    if (o.dtype === "float32") {
      markRequiresGrad(o);
      life.requiresGrad = true;
    }
    outs.push(life);
  }
  const ins: Record<string, TapeRef> = {};
  for (const k in inputs) {
    const x = inputs[k];
    if (x instanceof tf.Variable) {
      ins[k] = x;
    } else {
      const life = lifeOf(x);
      if (requiresGrad(x)) life.requiresGrad = true;
      ins[k] = life;
    }
  }
  // tfjs's own addTapeNode closes over the output tensors (for zero dys), which would keep
  // them alive as long as the node: this one closes over their records.
  const node: GraphNode = { id: state.nextTapeNodeId++, kernelName, inputs: ins, outputs: outs, saved };
  if (gradFunc != null) {
    node.gradient = (dys: tf.Tensor[]) => {
      const full = dys.map((dy, i) => dy ?? tf.zeros(outs[i].shape, outs[i].dtype));
      return gradFunc(full.length > 1 ? full : full[0], saved, attrs);
    };
  }
  (state.activeTape as GraphNode[]).push(node);
  if (state.activeTape && state.activeTape.length > 2 * prunedLength + 4096) pruneTape();
}

/** What `engine.clone` makes, without the dispatch and the tape node: the backend's Identity kernel, run directly. */
export function shareForBackward(engine: EngineInternals, t: tf.Tensor): tf.Tensor {
  const identity = findKernel("Identity", engine.backendName);
  if (identity === undefined) return engine.clone(t);
  const out = identity.kernelFunc({ inputs: { x: t }, backend: engine.backend, attrs: {} }) as TensorInfo | tf.Tensor;
  // tfjs-node's kernels return tensors already.
  return out instanceof tf.Tensor ? out : engine.makeTensorFromTensorInfo(out);
}

type GradFunc = (dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[]) => tf.Tensor | tf.Tensor[];
interface CustomGradEngine {
  customGrad(f: (...args: unknown[]) => { value: tf.Tensor; gradFunc: GradFunc }): (...inputs: tf.Tensor[]) => tf.Tensor;
  runKernelFunc(params: unknown): tf.Tensor;
}

/**
 * `tf.customGrad` as tfjs has it, minus two references that keep an op's output reachable from
 * its own tape node, so the garbage collector could never free either (a tensor and a node
 * leaked per call: every Embedding with `paddingIdx`, every custom-gradient op): tfjs's backward
 * closure holds the whole result `{ value, gradFunc }`, and the user's `gradFunc` usually
 * closes over `f`'s arguments, among them tfjs's `save`, whose closure context in
 * `runKernelFunc` also holds the outputs. Here the backward holds only `gradFunc`, and `f` gets
 * a `save` that lets go of tfjs's once the forward is done. Its value is made inside the kernel,
 * where tensors are not registered for collection, so it is adopted once the op returns.
 */
function retainlessCustomGrad(engine: CustomGradEngine): void {
  engine.customGrad = (f) =>
    (...inputs: tf.Tensor[]) => {
      if (!inputs.every((t) => t instanceof tf.Tensor)) throw new Error("The args passed in customGrad(f)(x1, x2,...) must all be tensors");
      const inputMap: Record<string, tf.Tensor> = {};
      inputs.forEach((input, i) => (inputMap[i] = input));
      const grad: { fn: GradFunc | null } = { fn: null };
      const value = engine.runKernelFunc({
        forwardFunc: customForward(f, inputs, grad),
        backwardsFunc: customBackward(grad, inputs.length),
        inputs: inputMap,
      });
      // Made inside the kernel, so the registry has not seen it (lifetime.ts).
      adoptResult(value);
      return value;
    };
}

// The two closures are made here, at the top level, so that neither one's context chain leads
// back to the op's inputs or to tfjs's `save`: a tape node keeps only the backward alive.
function customForward(
  f: (...args: unknown[]) => { value: tf.Tensor; gradFunc: GradFunc },
  inputs: tf.Tensor[],
  grad: { fn: GradFunc | null },
) {
  return (_backend: unknown, save: (tensors: tf.Tensor[]) => void) => {
    const saving = detachableSave(save);
    const res = f(...inputs, saving.save);
    saving.release();
    if (!(res.value instanceof tf.Tensor)) throw new Error("The function f passed in customGrad(f) must return an object where `obj.value` is a tensor");
    if (typeof res.gradFunc !== "function") throw new Error("The function f passed in customGrad(f) must return an object where `obj.gradFunc` is a function.");
    grad.fn = res.gradFunc;
    return res.value;
  };
}

function detachableSave(engineSave: (tensors: tf.Tensor[]) => void) {
  let target: typeof engineSave | null = engineSave;
  return { save: (tensors: tf.Tensor[]) => target?.(tensors), release: () => (target = null) };
}

function customBackward(grad: { fn: GradFunc | null }, count: number) {
  return (dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[]) => {
    const out = grad.fn!(dy, saved);
    const grads = Array.isArray(out) ? out : [out];
    if (grads.length !== count || !grads.every((g) => g instanceof tf.Tensor)) {
      throw new Error("The function f passed in customGrad(f) must return an object where `obj.gradFunc` is a function that returns the same number of tensors as inputs passed to f(...).");
    }
    const gradMap: Record<string, () => tf.Tensor> = {};
    grads.forEach((g, i) => (gradMap[i] = () => g));
    return gradMap;
  };
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
export function releaseNode(node: GraphNode): void {
  for (const t of node.saved) t.dispose();
  node.saved = [];
  for (const o of node.outputs) o.graphFreed = true;
}

/**
 * Drops the nodes that no live tensor can reach: a node stays while one of its outputs is
 * alive or feeds a node that stays.
 */
export function pruneTape(): void {
  const state = engineInternals().state as unknown as { activeTape: GraphNode[] | null };
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
    const live = node.outputs.some((o) => !o.disposed || needed.has(o.id));
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

export function replaceTape(nodes: GraphNode[]): void {
  (engineInternals().state as unknown as { activeTape: GraphNode[] }).activeTape = nodes;
  prunedLength = Math.min(prunedLength, nodes.length);
}

export { tf };
