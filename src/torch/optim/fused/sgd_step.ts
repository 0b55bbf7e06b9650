/**
 * SGD's update of one parameter as one kernel (`LightningTsSGDStep`) instead of up to seven tfjs
 * ops (negation, weight decay, the momentum buffer's two products and sum, Nesterov's, the
 * step): on WASM a WebAssembly SIMD pass over the backend's heap (sgd_simd.wat), on the pure-JS
 * backend one loop. Both perform sgd.ts's float32 operations in its order, so a step gives the
 * same bits as the op chain it replaces; other backends keep the op chain.
 */
import type { NamedAttrMap, TensorInfo } from "@tensorflow/tfjs-core";
import { tf } from "../../tf.ts";
import type { KernelContext } from "../../backends/kernels/kernel_context.ts";
import { WasmHeapModule } from "../../backends/wasm_heap_module.ts";
import { SGD_SIMD_WASM } from "./sgd_simd_wasm.ts";
import { fusedStepAvailable } from "./optimizer_kernel.ts";

const KERNEL = "LightningTsSGDStep";

/** The step's hyperparameters (the op chain's scalars: each becomes a float32). */
export interface SgdStepScalars {
  lr: number;
  momentum: number;
  dampening: number;
  weightDecay: number;
  nesterov: boolean;
  maximize: boolean;
}

const MAXIMIZE = 1;
const WEIGHT_DECAY = 2;
const MOMENTUM = 4;
const FIRST = 8;
const NESTEROV = 16;

const simd = new WasmHeapModule<{ sgd(...args: number[]): void }>(SGD_SIMD_WASM);
const f = Math.fround;

/** Inputs param, grad, (momentumBuffer); attributes wd, momentum, damp, negLr (float32) and flags. Outputs param' (and the buffer'). */
function sgdStep(ctx: KernelContext, inputs: Record<string, TensorInfo>, attrs: NamedAttrMap): TensorInfo[] {
  const { wd, momentum, damp, negLr, flags } = attrs as Record<"wd" | "momentum" | "damp" | "negLr" | "flags", number>;
  const withBuffer = (flags & MOMENTUM) !== 0;
  const outs = [ctx.empty(inputs.param!.shape, "float32")];
  if (withBuffer) outs.push(ctx.empty(inputs.param!.shape, "float32"));
  // Element arrays only after every allocation (a WASM heap growth detaches earlier ones).
  const p = ctx.floats(inputs.param!);
  const g = ctx.floats(inputs.grad!);
  const b = inputs.momentumBuffer === undefined ? null : ctx.floats(inputs.momentumBuffer);
  const op = ctx.values(outs[0]!) as Float32Array;
  const ob = withBuffer ? (ctx.values(outs[1]!) as Float32Array) : null;
  let done = 0;
  const exports = simd.exportsFor(p, g, op, ...(b ? [b] : []), ...(ob ? [ob] : []));
  if (exports !== null) {
    done = p.length & ~3;
    exports.sgd(
      p.byteOffset,
      g.byteOffset,
      b ? b.byteOffset : 0,
      op.byteOffset,
      ob ? ob.byteOffset : 0,
      done,
      wd,
      momentum,
      damp,
      negLr,
      flags,
    );
  }
  for (let i = done; i < p.length; i++) {
    const pp = p[i]!;
    let gg = flags & MAXIMIZE ? -g[i]! : g[i]!;
    if (flags & WEIGHT_DECAY) gg = f(gg + f(pp * wd));
    if (ob !== null) {
      const bb = flags & FIRST ? gg : f(f(b![i]! * momentum) + f(gg * damp));
      ob[i] = bb;
      gg = flags & NESTEROV ? f(gg + f(bb * momentum)) : bb;
    }
    op[i] = f(pp + f(gg * negLr));
  }
  return outs;
}

/**
 * One fused SGD step: the new parameter (and momentum buffer; pass the buffer as null on the
 * first step, when it starts as the gradient), or null on a backend without the kernel (the
 * caller runs the op chain).
 */
export function fusedSgdStep(
  param: tf.Tensor,
  grad: tf.Tensor,
  momentumBuffer: tf.Tensor | null,
  s: SgdStepScalars,
): tf.Tensor[] | null {
  if (!fusedStepAvailable(KERNEL, sgdStep, param, grad)) return null;
  let flags = 0;
  if (s.maximize) flags |= MAXIMIZE;
  if (s.weightDecay !== 0) flags |= WEIGHT_DECAY;
  if (s.momentum !== 0) flags |= MOMENTUM | (momentumBuffer === null ? FIRST : 0) | (s.nesterov ? NESTEROV : 0);
  const inputs: Record<string, tf.Tensor> = { param, grad };
  if (momentumBuffer !== null && s.momentum !== 0) inputs.momentumBuffer = momentumBuffer;
  const attrs = { wd: f(s.weightDecay), momentum: f(s.momentum), damp: f(1 - s.dampening), negLr: f(-s.lr), flags };
  const out = tf.engine().runKernel(KERNEL, inputs, attrs as unknown as NamedAttrMap);
  return Array.isArray(out) ? (out as tf.Tensor[]) : [out as tf.Tensor];
}
