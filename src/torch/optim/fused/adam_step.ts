/**
 * Adam's update of one parameter as one kernel (`LightningTsAdamStep`) instead of a dozen tfjs
 * ops: on WASM a WebAssembly SIMD pass over the backend's own heap (adam_simd.wat), on the pure-JS
 * backend one loop. Both perform adam.ts's float32 operations in its order, so a step gives the
 * same bits as the op chain it replaces; other backends keep the op chain.
 */
import type { NamedAttrMap, TensorInfo } from "@tensorflow/tfjs-core";
import { tf } from "../../tf.ts";
import type { KernelContext } from "../../backends/kernels/kernel_context.ts";
import { WasmHeapModule } from "../../backends/wasm_heap_module.ts";
import { ADAM_SIMD_WASM } from "./adam_simd_wasm.ts";
import { fusedStepAvailable } from "./optimizer_kernel.ts";

const KERNEL = "LightningTsAdamStep";

/** The step's scalars, already what the op chain would use (each a float32). */
export interface AdamStepScalars {
  /** 1 − β1 */
  c1: number;
  b2: number;
  /** 1 − β2 */
  c2: number;
  /** √(1 − β2^t) */
  bc2s: number;
  eps: number;
  /** −lr / (1 − β1^t) */
  negStep: number;
  /** 0: none; 1: L2 (g + p·wd); 2: decoupled (p·wd, wd = 1 − lr·weightDecay) */
  wdMode: 0 | 1 | 2;
  wd: number;
  maximize: boolean;
}

interface AdamExports {
  adam(...args: number[]): void;
}

const simd = new WasmHeapModule<AdamExports>(ADAM_SIMD_WASM);

export { withoutFusedOptimizers } from "./fused_switch.ts";

const f = Math.fround;

/** The update of elements [from, n), in JS: adam.ts's op chain, one float32 rounding per op. */
function adamLoop(
  p: Float32Array, g: Float32Array, m: Float32Array, v: Float32Array, max: Float32Array | null,
  op: Float32Array, om: Float32Array, ov: Float32Array, omax: Float32Array | null, from: number, s: AdamStepScalars,
): void {
  for (let i = from; i < p.length; i++) {
    let pp = p[i]!;
    let gg = s.maximize ? -g[i]! : g[i]!;
    if (s.wdMode === 1) gg = f(gg + f(pp * s.wd));
    else if (s.wdMode === 2) pp = f(pp * s.wd);
    const mm = f(m[i]! + f(f(gg - m[i]!) * s.c1));
    const vv = f(f(v[i]! * s.b2) + f(f(gg * gg) * s.c2));
    let second = vv;
    if (max && omax) {
      second = Math.max(max[i]!, vv);
      omax[i] = second;
    }
    om[i] = mm;
    ov[i] = vv;
    op[i] = f(pp + f(f(mm / f(f(f(Math.sqrt(second)) / s.bc2s) + s.eps)) * s.negStep));
  }
}

/** Inputs param, grad, expAvg, expAvgSq (maxExpAvgSq with amsgrad); attributes the step's scalars. */
function adamStep(ctx: KernelContext, inputs: Record<string, TensorInfo>, attrs: NamedAttrMap): TensorInfo[] {
  const s = attrs as unknown as AdamStepScalars;
  const ams = inputs.maxExpAvgSq !== undefined;
  const outs = [ctx.empty(inputs.param!.shape, "float32"), ctx.empty(inputs.param!.shape, "float32"), ctx.empty(inputs.param!.shape, "float32")];
  if (ams) outs.push(ctx.empty(inputs.param!.shape, "float32"));
  // Element arrays only after every allocation (a WASM heap growth detaches earlier ones).
  const arr = (t: TensorInfo) => ctx.values(t) as Float32Array;
  const [p, g, m, v] = [arr(inputs.param!), arr(inputs.grad!), arr(inputs.expAvg!), arr(inputs.expAvgSq!)];
  const max = ams ? arr(inputs.maxExpAvgSq!) : null;
  const [op, om, ov] = outs.slice(0, 3).map(arr) as [Float32Array, Float32Array, Float32Array];
  const omax = ams ? arr(outs[3]!) : null;
  let done = 0;
  const exports = simd.exportsFor(p, g, m, v, op, om, ov);
  if (exports !== null) {
    done = p.length & ~3;
    exports.adam(
      p.byteOffset, g.byteOffset, m.byteOffset, v.byteOffset, max ? max.byteOffset : 0,
      op.byteOffset, om.byteOffset, ov.byteOffset, omax ? omax.byteOffset : 0, done,
      s.c1, s.b2, s.c2, s.bc2s, s.eps, s.negStep, s.wdMode, s.wd, s.maximize ? 1 : 0,
    );
  }
  adamLoop(p, g, m, v, max, op, om, ov, omax, done, s);
  return outs;
}

/**
 * One fused Adam step: the new parameter, first and second moments (and amsgrad's running
 * maximum), or null on a backend without the kernel (the caller runs the op chain).
 */
export function fusedAdamStep(
  param: tf.Tensor, grad: tf.Tensor, expAvg: tf.Tensor, expAvgSq: tf.Tensor, maxExpAvgSq: tf.Tensor | null, s: AdamStepScalars,
): tf.Tensor[] | null {
  // (Under 16-true the op chain runs: every op of the update rounded to 16 bits, as a 16-bit
  // model's optimizer computes it; Adam's eps of 1e-8 underflows in float16.)
  if (!fusedStepAvailable(KERNEL, adamStep, param, grad)) return null;
  const inputs: Record<string, tf.Tensor> = { param, grad, expAvg, expAvgSq };
  if (maxExpAvgSq) inputs.maxExpAvgSq = maxExpAvgSq;
  const scalars = { ...s, c1: f(s.c1), b2: f(s.b2), c2: f(s.c2), bc2s: f(s.bc2s), eps: f(s.eps), negStep: f(s.negStep), wd: f(s.wd) };
  return tf.engine().runKernel(KERNEL, inputs, scalars as unknown as NamedAttrMap) as unknown as tf.Tensor[];
}
