import type { NamedAttrMap, TensorInfo } from "@tensorflow/tfjs-core";
import { tf } from "../../tf.ts";
import type { KernelContext } from "./kernel_context.ts";
import { WasmHeapModule } from "../wasm_heap_module.ts";
import { CROSS_ENTROPY_SIMD_WASM } from "./cross_entropy_simd_wasm.ts";

/**
 * `F.crossEntropy` over [N, C] logits and class-index targets, no class weights or label
 * smoothing, `mean` or `sum` — the classifier's loss in nearly every script — as one kernel and
 * one gradient kernel instead of tfjs's ~20 (log-softmax, one-hot, products, sums, and their
 * gradients), whose dispatch and tape entries cost more than their arithmetic: the MLP
 * benchmark's step 1.12–1.29x faster (bench/cross_entropy.ts). Each row's log-sum-exp is
 * taken in float64 (PyTorch's log_softmax accumulates in a wider type too), so the loss is
 * within float32 rounding of the exact one; the gradient is (softmax − one-hot)·dy, divided by
 * the rows counted for `mean`. Rows whose target is `ignoreIndex` count for nothing, as in
 * PyTorch (all ignored: `mean` is NaN).
 *
 * The exponentials are most of the work (a language model's [700, 33278] logits: 23 million a
 * step, twice): on WASM two float64 lanes at a time (cross_entropy_simd.wat), elsewhere the same
 * operations in JavaScript (`expNonPositive`, `expSum`, `ratios` below), so both backends give
 * the same bits; each term within a few float64 ulps of Math.exp's.
 */
export const CROSS_ENTROPY = "LightningTsCrossEntropy";
export const CROSS_ENTROPY_GRAD = "LightningTsCrossEntropyGrad";

export interface SimdExports {
  rowMax(x: number, c: number): number;
  expSum(x: number, c: number, m: number, e: number): number;
  ratios(e: number, c: number, s: number, scale: number, dx: number): void;
}

/** The SIMD module (exported for the test comparing its terms with `expNonPositive`'s). */
export const crossEntropySimd = new WasmHeapModule<SimdExports>(CROSS_ENTROPY_SIMD_WASM);

const INV_LN2 = 1.4426950408889634;
const LN2_HI = 0.6931471803691238; // fdlibm's split of ln 2: k·LN2_HI is exact for |k| < 2^11
const LN2_LO = 1.9082149292705877e-10;
/** 1/n!, n = 0..13: e^r's Taylor series. */
const TAYLOR = Float64Array.from({ length: 14 }, (_, n) => 1 / Array.from({ length: n }, (_, i) => i + 1).reduce((a, b) => a * b, 1));
/** 2^k for k = -1022..1023, from its bits. */
const POW2 = (() => {
  const bits = new BigUint64Array(2046);
  for (let k = -1022; k <= 1023; k++) bits[k + 1022] = BigInt(k + 1023) << 52n;
  return new Float64Array(bits.buffer);
})();

/** exp(x) for x <= 0, as cross_entropy_simd.wat's `$exp` computes it (see there). */
export function expNonPositive(x: number): number {
  const k = Math.floor(x * INV_LN2 + 0.5);
  const r = x - k * LN2_HI - k * LN2_LO;
  const T = TAYLOR;
  const r2 = r * r;
  const r4 = r2 * r2;
  const r8 = r4 * r4;
  const w0 = T[0]! + T[1]! * r + (T[2]! + T[3]! * r) * r2;
  const w1 = T[4]! + T[5]! * r + (T[6]! + T[7]! * r) * r2;
  const w2 = T[8]! + T[9]! * r + (T[10]! + T[11]! * r) * r2;
  const p = w0 + w1 * r4 + (w2 + (T[12]! + T[13]! * r) * r4) * r8;
  if (x < -708) return 0;
  if (x !== x) return NaN;
  return p * POW2[k + 1022]!;
}

/** Row i's Σ exp(x − m), summed in the SIMD pass's order; each term into `e` when given. */
export function expSum(x: Float32Array, from: number, c: number, m: number, e: Float64Array | null): number {
  let s0 = 0;
  let s1 = 0;
  let s2 = 0;
  let s3 = 0;
  const end = c & ~3;
  let k = 0;
  for (; k < end; k += 4) {
    const t0 = expNonPositive(x[from + k]! - m);
    const t1 = expNonPositive(x[from + k + 1]! - m);
    const t2 = expNonPositive(x[from + k + 2]! - m);
    const t3 = expNonPositive(x[from + k + 3]! - m);
    if (e !== null) {
      e[k] = t0;
      e[k + 1] = t1;
      e[k + 2] = t2;
      e[k + 3] = t3;
    }
    s0 += t0;
    s1 += t1;
    s2 += t2;
    s3 += t3;
  }
  let s = s0 + s1 + (s2 + s3);
  for (; k < c; k++) {
    const t = expNonPositive(x[from + k]! - m);
    if (e !== null) e[k] = t;
    s += t;
  }
  return s;
}

/** Row i's maximum (NaN when it holds one), as the SIMD pass's `rowMax`. */
function rowMax(x: Float32Array, from: number, c: number): number {
  let m = -Infinity;
  for (let k = 0; k < c; k++) m = Math.max(m, x[from + k]!);
  return m;
}

/** Row [from, from + c)'s log Σ exp, as its maximum plus the log of the shifted sum. */
export function rowLogSumExp(x: Float32Array, from: number, c: number, simd: SimdExports | null): number {
  if (simd !== null) {
    const at = x.byteOffset + 4 * from;
    const m = simd.rowMax(at, c);
    return m + Math.log(simd.expSum(at, c, m, 0));
  }
  const m = rowMax(x, from, c);
  return m + Math.log(expSum(x, from, c, m, null));
}

/**
 * A float64 buffer of `c` terms, an intermediate of the kernel on its backend (on WASM: on the
 * heap, where the SIMD pass writes them). It is a view: take it after the kernel's other
 * allocations, which could grow the heap.
 */
export function float64Scratch(ctx: KernelContext, c: number): Float64Array {
  const scratch = ctx.values(ctx.empty([2 * c], "float32")) as Float32Array;
  // (WASM's allocator aligns to 8 bytes at least; were it not, a buffer of its own and no SIMD.)
  return scratch.byteOffset % 8 === 0 ? new Float64Array(scratch.buffer, scratch.byteOffset, c) : new Float64Array(c);
}

/** The element arrays and the SIMD module when every array lies on the WASM heap. */
interface Rows {
  logits: Float32Array;
  target: Int32Array | Float32Array;
  n: number;
  c: number;
  ignoreIndex: number;
  simd: SimdExports | null;
}

/**
 * The inputs' element arrays. On WASM these are views of the heap, which any allocation may grow
 * (memory.grow detaches every view taken before it: length 0, each read `undefined`, each row
 * NaN): take them only after every allocation of the kernel.
 */
function rows(ctx: KernelContext, inputs: Record<string, TensorInfo>, attrs: NamedAttrMap, ...others: ArrayBufferView[]): Rows {
  const [n, c] = inputs.logits!.shape as [number, number];
  const logits = ctx.floats(inputs.logits!);
  const target = ctx.values(inputs.target!) as Int32Array;
  return { logits, target, n, c, ignoreIndex: attrs.ignoreIndex as number, simd: crossEntropySimd.exportsFor(logits, ...others) };
}

export function crossEntropy(ctx: KernelContext, inputs: Record<string, TensorInfo>, attrs: NamedAttrMap): TensorInfo {
  const out = ctx.empty([], "float32");
  const { logits, target, n, c, ignoreIndex, simd } = rows(ctx, inputs, attrs);
  let total = 0;
  let counted = 0;
  for (let i = 0; i < n; i++) {
    const t = target[i]!;
    if (t === ignoreIndex) continue;
    total += rowLogSumExp(logits, i * c, c, simd) - logits[i * c + t]!;
    counted++;
  }
  (ctx.values(out) as Float32Array)[0] = attrs.reduction === "sum" ? total : total / counted;
  return out;
}

export function crossEntropyGrad(ctx: KernelContext, inputs: Record<string, TensorInfo>, attrs: NamedAttrMap): TensorInfo {
  const c = inputs.logits!.shape[1]!;
  // Every allocation first: [N, C] may grow the WASM heap (the transformer tutorial's 200 × 753
  // did, at its 12th step), which would detach arrays taken before it. The row's terms, float64,
  // in a scratch buffer of this backend (on the heap, where the SIMD pass writes them).
  const out = ctx.zeros(inputs.logits!.shape, "float32");
  const e = float64Scratch(ctx, c);
  const dx = ctx.values(out) as Float32Array;
  const { logits, target, n, ignoreIndex, simd } = rows(ctx, inputs, attrs, dx, e);
  let counted = 0;
  for (let i = 0; i < n; i++) if (target[i] !== ignoreIndex) counted++;
  const dy = ctx.floats(inputs.dy!)[0]!;
  const scale = attrs.reduction === "sum" ? dy : dy / counted;
  for (let i = 0; i < n; i++) {
    const t = target[i]!;
    if (t === ignoreIndex) continue;
    let s: number;
    if (simd !== null) {
      const at = logits.byteOffset + 4 * i * c;
      s = simd.expSum(at, c, simd.rowMax(at, c), e.byteOffset);
      simd.ratios(e.byteOffset, c, s, scale, dx.byteOffset + 4 * i * c);
    } else {
      s = expSum(logits, i * c, c, rowMax(logits, i * c, c), e);
      for (let k = 0; k < c; k++) dx[i * c + k] = (e[k]! / s) * scale;
    }
    dx[i * c + t] = (e[t]! / s - 1) * scale;
  }
  // (shimKernel frees the scratch buffer with the kernel's other intermediates.)
  return out;
}

/** The gradient of CROSS_ENTROPY, for the tape: registered once with the kernels. */
export const crossEntropyGradient: tf.GradConfig = {
  kernelName: CROSS_ENTROPY,
  inputsToSave: ["logits", "target"],
  gradFunc: (dy, saved, attrs) => {
    const [logits, target] = saved as [tf.Tensor, tf.Tensor];
    return {
      logits: () => tf.engine().runKernel(CROSS_ENTROPY_GRAD, { dy: dy as tf.Tensor, logits, target }, attrs as NamedAttrMap) as tf.Tensor,
      target: () => tf.zerosLike(target),
    };
  },
};
