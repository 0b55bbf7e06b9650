/**
 * Adadelta's update of one parameter as one kernel (`LightningTsAdadeltaStep`) instead of about
 * fifteen tfjs ops: on WASM a WebAssembly SIMD pass over the backend's heap (adadelta_simd.wat),
 * on the pure-JS backend one loop. Both perform adadelta.ts's float32 operations in its order
 * (pytorch/examples' mnist trains with it), so a step gives the same bits as the op chain it
 * replaces; other backends keep the op chain.
 */
import type { NamedAttrMap, TensorInfo } from "@tensorflow/tfjs-core";
import { tf } from "../../tf.ts";
import type { KernelContext } from "../../backends/kernels/kernel_context.ts";
import { WasmHeapModule } from "../../backends/wasm_heap_module.ts";
import { ADADELTA_SIMD_WASM } from "./adadelta_simd_wasm.ts";
import { fusedStepAvailable } from "./optimizer_kernel.ts";

const KERNEL = "LightningTsAdadeltaStep";
const MAXIMIZE = 1;
const WEIGHT_DECAY = 2;

export interface AdadeltaStepScalars {
  lr: number;
  rho: number;
  eps: number;
  weightDecay: number;
  maximize: boolean;
}

const simd = new WasmHeapModule<{ adadelta(...args: number[]): void }>(ADADELTA_SIMD_WASM);
const f = Math.fround;

/** Inputs param, grad, squareAvg, accDelta; attributes wd, rho, c = 1 − ρ, eps, negLr (float32) and flags. Outputs param', squareAvg', accDelta'. */
function adadeltaStep(ctx: KernelContext, inputs: Record<string, TensorInfo>, attrs: NamedAttrMap): TensorInfo[] {
  const { wd, rho, c, eps, negLr, flags } = attrs as Record<"wd" | "rho" | "c" | "eps" | "negLr" | "flags", number>;
  const outs = [0, 1, 2].map(() => ctx.empty(inputs.param!.shape, "float32"));
  // Element arrays only after every allocation (a WASM heap growth detaches earlier ones).
  const [p, g, v, u] = [inputs.param!, inputs.grad!, inputs.squareAvg!, inputs.accDelta!].map((t) =>
    ctx.floats(t),
  ) as Float32Array[];
  const [op, ov, ou] = outs.map((t) => ctx.values(t) as Float32Array) as [Float32Array, Float32Array, Float32Array];
  let done = 0;
  const exports = simd.exportsFor(p!, g!, v!, u!, op, ov, ou);
  if (exports !== null) {
    done = p!.length & ~3;
    exports.adadelta(
      p!.byteOffset,
      g!.byteOffset,
      v!.byteOffset,
      u!.byteOffset,
      op.byteOffset,
      ov.byteOffset,
      ou.byteOffset,
      done,
      wd,
      rho,
      c,
      eps,
      negLr,
      flags,
    );
  }
  for (let i = done; i < p!.length; i++) {
    const pp = p![i]!;
    let gg = flags & MAXIMIZE ? -g![i]! : g![i]!;
    if (flags & WEIGHT_DECAY) gg = f(gg + f(pp * wd));
    const vv = f(f(v![i]! * rho) + f(f(gg * gg) * c));
    const uu = u![i]!;
    const delta = f(f(f(Math.sqrt(f(uu + eps))) / f(Math.sqrt(f(vv + eps)))) * gg);
    ov[i] = vv;
    ou[i] = f(f(uu * rho) + f(f(delta * delta) * c));
    op[i] = f(pp + f(delta * negLr));
  }
  return outs;
}

/** One fused Adadelta step: the new parameter, square average and accumulated delta, or null where the op chain runs. */
export function fusedAdadeltaStep(
  param: tf.Tensor,
  grad: tf.Tensor,
  squareAvg: tf.Tensor,
  accDelta: tf.Tensor,
  s: AdadeltaStepScalars,
): tf.Tensor[] | null {
  if (!fusedStepAvailable(KERNEL, adadeltaStep, param, grad)) return null;
  const flags = (s.maximize ? MAXIMIZE : 0) | (s.weightDecay !== 0 ? WEIGHT_DECAY : 0);
  const attrs = { wd: f(s.weightDecay), rho: f(s.rho), c: f(1 - s.rho), eps: f(s.eps), negLr: f(-s.lr), flags };
  return tf
    .engine()
    .runKernel(
      KERNEL,
      { param, grad, squareAvg, accDelta },
      attrs as unknown as NamedAttrMap,
    ) as unknown as tf.Tensor[];
}
