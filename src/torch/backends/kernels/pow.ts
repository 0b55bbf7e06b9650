import type { NamedAttrMap, TensorInfo } from "@tensorflow/tfjs-core";
import type { KernelContext } from "./kernel_context.ts";
import { runOriginal } from "./index.ts";

/**
 * `Pow` with one float32 exponent that PyTorch computes without `pow`: x², x³, √x, 1/x, 1/x²,
 * 1/√x as products, square roots and quotients in float32 (its CPU kernel's special cases), so
 * `x ** 3` in GELU's tanh approximation (minGPT, nanoGPT's `new_gelu`) gives PyTorch's bits
 * rather than `powf`'s, and costs a multiplication: tfjs's WASM kernel calls `std::pow` per
 * element through its broadcasting loop (0.4 ms a call in minGPT, an eighth of its kernel time).
 * Any other exponent, a tensor of exponents, or int32 goes to tfjs's kernel.
 */
const SPECIAL = new Map<number, (x: number) => number>([
  [2, (x) => x * x],
  [3, (x) => Math.fround(x * x) * x],
  [0.5, (x) => Math.sqrt(x)],
  [-1, (x) => 1 / x],
  [-2, (x) => 1 / Math.fround(x * x)],
  [-0.5, (x) => 1 / Math.fround(Math.sqrt(x))],
]);

export function powSpecial(ctx: KernelContext, inputs: Record<string, TensorInfo>, attrs: NamedAttrMap): TensorInfo {
  const { a, b } = inputs as { a: TensorInfo; b: TensorInfo };
  const scalarExponent = b.shape.every((d) => d === 1) && b.shape.length <= a.shape.length;
  if (a.dtype !== "float32" || b.dtype !== "float32" || !scalarExponent) return runOriginal(ctx, "Pow", inputs, attrs);
  const f = SPECIAL.get(ctx.values(b)[0]!);
  if (f === undefined) return runOriginal(ctx, "Pow", inputs, attrs);
  const out = ctx.empty(a.shape, "float32");
  // Element arrays only now: the allocation above may have grown (and detached) the heap.
  const x = ctx.values(a);
  const y = ctx.values(out);
  for (let i = 0; i < x.length; i++) y[i] = f(x[i]!);
  return out;
}
