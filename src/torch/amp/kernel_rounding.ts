/**
 * 16-bit numerics on backends that compute only in float32: while a rounding mode is active,
 * tfjs kernels round what they compute to the 16-bit format, as the same op would produce it
 * on a GPU in that format.
 *
 * - `"autocast"` (PyTorch's autocast, for `16-mixed` / `bf16-mixed`): the kernels of the ops on
 *   PyTorch's autocast lower-precision list — matrix products and convolutions, forward and
 *   gradient — take 16-bit-rounded inputs and give 16-bit outputs (accumulating in float32, as
 *   tensor cores do). Every other kernel computes in float32 (PyTorch's float32 list — softmax,
 *   losses, norms, exp/log, sums — and the rest).
 * - `"all"` (`16-true` / `bf16-true`): every kernel's float output is rounded.
 *
 * It works at the kernel level, under the engine, so that everything a model computes is
 * covered however it is written (`nn.Linear`, `F.linear`, `tf.matMul`, `x.matMul(...)`), and so
 * that the backward pass — the registered gradients, which run these same kernels — is rounded
 * too: the gradient flowing back through a 16-bit product is itself 16-bit, which is where
 * float16 underflows and why a loss scaler exists.
 */
import type { KernelConfig, NamedAttrMap, TensorInfo } from "@tensorflow/tfjs-core";
import { tf } from "../tf.ts";
import { KernelContext } from "../backends/kernels/kernel_context.ts";
import { KernelWrapping } from "../backends/kernels/kernel_wrapping.ts";
import { MAX_POOL_NCHW } from "../backends/kernels/max_pool_nchw.ts";
import { roundToHalf, type HalfFormat } from "./rounding.ts";
import { roundInPlaceOnWebGPU, roundedOnWebGPU } from "./rounding_webgpu.ts";

export interface RoundingMode {
  format: HalfFormat;
  scope: "autocast" | "all";
}

/**
 * The kernels of PyTorch's autocast lower-precision ops (matmul, mm, bmm, addmm, baddbmm,
 * linear, conv1d/2d/3d, conv_transpose*, the RNN cells' products): tfjs's products and
 * convolutions, with the gradient kernels of the convolutions.
 */
export const LOWER_PRECISION_KERNELS: ReadonlySet<string> = new Set([
  "BatchMatMul",
  "_FusedMatMul",
  "Conv2D",
  "FusedConv2D",
  "Conv2DBackpropInput",
  "Conv2DBackpropFilter",
  "Conv3D",
  "Conv3DBackpropInputV2",
  "Conv3DBackpropFilterV2",
  "DepthwiseConv2dNative",
  "FusedDepthwiseConv2D",
  "DepthwiseConv2dNativeBackpropInput",
  "DepthwiseConv2dNativeBackpropFilter",
]);

/**
 * Kernels whose output holds only values of their inputs (moved, copied, selected, or max'd):
 * given 16-bit values, they give 16-bit values, so their output is recorded as rounded and the
 * next product does not round it again (the NCHW transposes around a convolution, a ReLU).
 */
const VALUE_PRESERVING_KERNELS: ReadonlySet<string> = new Set([
  "Transpose",
  "Reshape",
  "Identity",
  "Slice",
  "StridedSlice",
  "Concat",
  "GatherV2",
  "Tile",
  "Reverse",
  "Relu",
  "MaxPool",
  MAX_POOL_NCHW,
  "Pack",
  "Unpack",
]);

/** The backends whose memory the rounding reads and writes (see KernelContext). */
const SUPPORTED_BACKENDS = new Set(["wasm", "cpu", "webgpu"]);

let current: RoundingMode | null = null;
// While a lower-precision op built from several kernels runs (F.linear's product + bias, a
// convolution between its layout transposes): the data its kernels made. Those intermediates
// stay float32 (the op accumulates in float32, as a GPU kernel does); only what comes from
// outside is rounded on the way in, and the op's result once, at its end.
let opIntermediates: WeakSet<object> | null = null;
// Kernels that other kernels run (a shim's inner matMul) are part of the outer kernel's
// computation: only the outermost one rounds, once, as a fused 16-bit kernel would.
let depth = 0;
// Data known to hold `format` values already (what these kernels rounded, inputs cast by a
// precision plugin): a lower-precision kernel reads it as is instead of rounding a copy. Keyed
// by data id, which tfjs never writes again once made (a variable's `assign` takes a new one).
const roundedData = new WeakMap<object, HalfFormat>();

/** Records that `dataId` holds `format` values (see roundedData). */
export function markRounded(dataId: object, format: HalfFormat): void {
  roundedData.set(dataId, format);
}

/** The rounding mode in force, or null (float32). */
export function roundingMode(): RoundingMode | null {
  return current;
}

/** Rounds data only the caller has seen yet to `format`, on whatever backend holds it. */
function roundInPlace(ctx: KernelContext, info: TensorInfo, format: HalfFormat): void {
  if (ctx.backendName === "webgpu") roundInPlaceOnWebGPU(ctx.backend, info, format);
  else roundToHalf(ctx.values(info) as Float32Array, format);
}

/** Why 16-bit emulation cannot run on `backendName`, or null when it can. */
export function roundingUnsupportedReason(backendName: string): string | null {
  if (SUPPORTED_BACKENDS.has(backendName)) return null;
  return (
    `16-bit precision is emulated on the cpu, wasm and webgpu backends only; the ${backendName} backend has no 16-bit ` +
    `rounding kernel yet: use precision "32-true", or LIGHTNING_TS_BACKEND=wasm`
  );
}

/**
 * Runs `fn` (possibly async: the mode stays until its promise settles) with `mode` in force;
 * `null` runs it in float32. Modes nest: the inner one wins until it ends.
 */
export function withRounding<T>(mode: RoundingMode | null, fn: () => T): T {
  if (mode !== null) {
    const reason = roundingUnsupportedReason(tf.getBackend());
    if (reason) throw new Error(reason);
    wrapping.ensure(tf.getBackend());
  }
  const prev = current;
  current = mode;
  let result: T;
  try {
    result = fn();
  } catch (e) {
    current = prev;
    throw e;
  }
  if (result instanceof Promise) {
    return result.finally(() => {
      current = prev;
    }) as T;
  }
  current = prev;
  return result;
}

/**
 * Runs `fn` (synchronous: a few kernels) as one lower-precision op: under autocast, its inputs
 * are rounded as they enter, its intermediates are not, and its result is rounded once — as
 * PyTorch's addmm / cuDNN round product + bias once. `F.linear` and the convolutions run this way.
 */
export function asLowerPrecisionOp<T extends tf.Tensor>(fn: () => T): T {
  if (current === null || current.scope !== "autocast" || depth > 0) return fn();
  const format = current.format;
  const prev = opIntermediates;
  const made = new WeakSet<object>();
  opIntermediates = made;
  let result: T;
  try {
    result = fn();
  } finally {
    opIntermediates = prev;
  }
  if (result.dtype !== "float32") return result;
  if (made.has(result.dataId)) {
    // Fresh data only this op has seen: rounded in place, before anyone reads it.
    const ctx = new KernelContext(tf.backend(), tf.getBackend());
    roundInPlace(ctx, { dataId: result.dataId, shape: result.shape, dtype: "float32" }, format);
  } else {
    throw new Error("lightning-ts: a lower-precision op returned data it did not make");
  }
  roundedData.set(result.dataId, format);
  if (prev) prev.add(result.dataId);
  return result;
}

type KernelArgs = Parameters<KernelConfig["kernelFunc"]>[0];

const wrapping = new KernelWrapping((config, backendName) => roundingKernel(config, backendName));

function roundingKernel(config: KernelConfig, backendName: string): KernelConfig["kernelFunc"] {
  const inner = config.kernelFunc;
  const lower = LOWER_PRECISION_KERNELS.has(config.kernelName);
  const preserving = VALUE_PRESERVING_KERNELS.has(config.kernelName);
  return (args: KernelArgs) => {
    const mode = current;
    if (mode === null || depth > 0) return inner(args);
    if (opIntermediates !== null && mode.scope === "autocast") {
      if (preserving) {
        const out = preservingInOp(inner, args, mode.format, opIntermediates);
        if (out !== null) return out;
      }
      return opKernel(inner, args, backendName, mode.format, opIntermediates);
    }
    if (!(lower || mode.scope === "all")) {
      if (preserving) return preservingRounded(inner, args, mode.format);
      return inner(args);
    }
    const format = mode.format;
    const given = new Set(Object.values(args.inputs as Record<string, TensorInfo>).map((t) => t?.dataId));
    return runRounding(inner, args, backendName, lower ? format : null, undefined, (o, ctx) => {
      // An output sharing an input's data (a reshape) is that input: rounding it would change
      // the input's values in place.
      if (o.dtype === "float32" && !given.has(o.dataId)) {
        roundInPlace(ctx, o, format);
        roundedData.set(o.dataId, format);
      }
    });
  };
}

/** A kernel inside a lower-precision op: outside inputs rounded, its output kept as an intermediate. */
function opKernel(
  inner: KernelConfig["kernelFunc"],
  args: KernelArgs,
  backendName: string,
  format: HalfFormat,
  made: WeakSet<object>,
): ReturnType<KernelConfig["kernelFunc"]> {
  return runRounding(inner, args, backendName, format, made, (o) => made.add(o.dataId));
}

/**
 * Runs a kernel as the outermost rounded one (kernels it runs inside are not rounded again):
 * its float inputs rounded to `roundInputsTo` first (copies; not those already 16-bit or made
 * by the same op), then `eachOutput` on each output while its data can still be read.
 */
function runRounding(
  inner: KernelConfig["kernelFunc"],
  args: KernelArgs,
  backendName: string,
  roundInputsTo: HalfFormat | null,
  intermediates: WeakSet<object> | undefined,
  eachOutput: (o: TensorInfo, ctx: KernelContext) => void,
): ReturnType<KernelConfig["kernelFunc"]> {
  depth++;
  const ctx = new KernelContext(args.backend, backendName);
  try {
    ctx.moveHere(args.inputs as Record<string, TensorInfo>);
    const inputs = roundInputsTo ? roundedInputs(ctx, args.inputs as Record<string, TensorInfo>, roundInputsTo, intermediates) : args.inputs;
    const out = inner({ ...args, inputs, attrs: args.attrs as NamedAttrMap });
    for (const o of Array.isArray(out) ? out : [out]) eachOutput(o, ctx);
    return out;
  } finally {
    ctx.releaseAll();
    depth--;
  }
}

/**
 * A value-preserving kernel inside a lower-precision op (matMul's reshapes, the clones tfjs saves
 * for the backward): rounding commutes with it, so nothing is rounded here. Its outputs are
 * intermediates when all its float inputs are, and what `preservingRounded` says otherwise; the
 * next product rounds what still needs it. Inputs of both kinds: null (the caller rounds the
 * outside ones, as for any kernel of the op).
 */
function preservingInOp(
  inner: KernelConfig["kernelFunc"],
  args: KernelArgs,
  format: HalfFormat,
  made: WeakSet<object>,
): ReturnType<KernelConfig["kernelFunc"]> | null {
  const floats = Object.values(args.inputs as Record<string, TensorInfo | undefined>).filter(
    (t): t is TensorInfo => t !== undefined && t.dtype === "float32",
  );
  const fromOp = floats.filter((t) => made.has(t.dataId)).length;
  if (fromOp > 0 && fromOp < floats.length) return null;
  if (fromOp === 0) return preservingRounded(inner, args, format);
  const out = inner(args);
  for (const o of Array.isArray(out) ? out : [out]) made.add(o.dataId);
  return out;
}

/** Runs a value-preserving kernel; its outputs are `format` values when all its float inputs are. */
function preservingRounded(
  inner: KernelConfig["kernelFunc"],
  args: KernelArgs,
  format: HalfFormat,
): ReturnType<KernelConfig["kernelFunc"]> {
  const out = inner(args);
  const inputs = Object.values(args.inputs as Record<string, TensorInfo | undefined>);
  if (inputs.every((t) => !t || t.dtype !== "float32" || roundedData.get(t.dataId) === format)) {
    for (const o of Array.isArray(out) ? out : [out]) if (o.dtype === "float32") roundedData.set(o.dataId, format);
  }
  return out;
}

/** 16-bit-rounded copies of the float inputs (the inputs themselves are never changed). */
function roundedInputs(
  ctx: KernelContext,
  inputs: Record<string, TensorInfo>,
  format: HalfFormat,
  intermediates?: WeakSet<object>,
): Record<string, TensorInfo> {
  const copies: Record<string, TensorInfo> = { ...inputs };
  const made: Array<[TensorInfo, TensorInfo]> = [];
  for (const name in inputs) {
    const t = inputs[name];
    if (!t || t.dtype !== "float32" || roundedData.get(t.dataId) === format || intermediates?.has(t.dataId)) continue;
    if (ctx.backendName === "webgpu") {
      copies[name] = ctx.adopt(roundedOnWebGPU(ctx.backend, t, format));
      continue;
    }
    const copy = ctx.empty(t.shape, "float32");
    copies[name] = copy;
    made.push([t, copy]);
  }
  // Element arrays only after every allocation: a WASM heap growth detaches earlier ones.
  for (const [t, copy] of made) roundToHalf(ctx.values(t) as Float32Array, format, ctx.values(copy) as Float32Array);
  return copies;
}
