/**
 * Two kernels of our own for the work 16-bit training adds to every step, each one pass over
 * the buffer on the backend's own memory (no read-back to JS, no chain of tfjs ops):
 * - `LightningTsRoundToHalf`: a rounded copy of a tensor (a precision plugin's input cast, a
 *   16-true model's parameters);
 * - `LightningTsUnscale`: a gradient times 1/scale, recording whether any value is inf or NaN
 *   (GradScaler's `unscale`, PyTorch's `_amp_foreach_non_finite_check_and_unscale_`).
 */
import type { NamedAttrMap, TensorInfo } from "@tensorflow/tfjs-core";
import { tf } from "../tf.ts";
import { shimKernel } from "../backends/kernels/kernel_context.ts";
import { roundToHalf, type HalfFormat } from "./rounding.ts";
import { markRounded, roundingUnsupportedReason } from "./kernel_rounding.ts";
import { unscaleOnWasmHeap } from "./rounding_simd.ts";
import { roundedOnWebGPU, unscaleOnWebGPU } from "./rounding_webgpu.ts";

const ROUND = "LightningTsRoundToHalf";
const UNSCALE = "LightningTsUnscale";

// Set by the unscale kernel: kernels run synchronously, so the caller reads it right after.
let lastFoundNonFinite = false;

function ensureRegistered(backendName: string): void {
  const reason = roundingUnsupportedReason(backendName);
  if (reason) throw new Error(reason);
  if (tf.getKernel(ROUND, backendName)) return;
  if (backendName === "webgpu") {
    // WGSL programs on the GPU's buffers (rounding_webgpu.ts)
    tf.registerKernel({
      kernelName: ROUND,
      backendName,
      kernelFunc: (({ inputs, backend, attrs }: { inputs: Record<string, TensorInfo>; backend: object; attrs: NamedAttrMap }) =>
        roundedOnWebGPU(backend, inputs.x!, attrs.format as HalfFormat)) as never,
    });
    tf.registerKernel({
      kernelName: UNSCALE,
      backendName,
      kernelFunc: (({ inputs, backend, attrs }: { inputs: Record<string, TensorInfo>; backend: object; attrs: NamedAttrMap }) => {
        const { out, nonFinite } = unscaleOnWebGPU(backend, inputs.x!, attrs.inv as number);
        lastFoundNonFinite = nonFinite;
        return out;
      }) as never,
    });
    return;
  }
  tf.registerKernel({
    kernelName: ROUND,
    backendName,
    kernelFunc: shimKernel(backendName, (ctx, inputs: Record<string, TensorInfo>, attrs: NamedAttrMap) => {
      const x = inputs.x!;
      const out = ctx.empty(x.shape, "float32");
      const values = ctx.values(out) as Float32Array;
      values.set(ctx.values(x));
      roundToHalf(values, attrs.format as HalfFormat);
      return out;
    }) as never,
  });
  tf.registerKernel({
    kernelName: UNSCALE,
    backendName,
    kernelFunc: shimKernel(backendName, (ctx, inputs: Record<string, TensorInfo>, attrs: NamedAttrMap) => {
      const g = inputs.x!;
      const out = ctx.empty(g.shape, "float32");
      const dst = ctx.values(out) as Float32Array;
      const src = ctx.values(g) as Float32Array;
      const inv = attrs.inv as number;
      const simd = unscaleOnWasmHeap(src, dst, inv);
      let finite = !simd.nonFinite;
      for (let i = simd.done; i < src.length; i++) {
        const v = src[i]! * inv;
        dst[i] = v;
        // v - v is 0 for a finite v and NaN for inf and NaN
        if (v - v !== 0) finite = false;
      }
      lastFoundNonFinite = !finite;
      return out;
    }) as never,
  });
}

/** A new float32 tensor holding `t`'s values rounded to `format` (other dtypes: `t` itself). */
export function roundTensorToHalf(t: tf.Tensor, format: HalfFormat): tf.Tensor {
  if (t.dtype !== "float32") return t;
  ensureRegistered(tf.getBackend());
  const rounded = tf.engine().runKernel(ROUND, { x: t }, { format } as unknown as NamedAttrMap) as tf.Tensor;
  markRounded(rounded.dataId, format);
  return rounded;
}

/** `g` times `inv` (float32), and whether any result is inf or NaN. */
export function unscaleAndCheck(g: tf.Tensor, inv: number): { unscaled: tf.Tensor; nonFinite: boolean } {
  ensureRegistered(tf.getBackend());
  const input = g.dtype === "float32" ? g : tf.cast(g, "float32");
  const unscaled = tf
    .engine()
    .runKernel(UNSCALE, { x: input }, { inv: Math.fround(inv) } as unknown as NamedAttrMap) as tf.Tensor;
  if (input !== g) input.dispose();
  return { unscaled, nonFinite: lastFoundNonFinite };
}
