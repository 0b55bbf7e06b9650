/**
 * The 16-bit rounding of rounding.ts on the WebGPU backend, as WGSL programs run by tfjs's WebGPU
 * backend: the same integer operations on each float's bits (so the same results, bit for bit),
 * one pass over the buffer on the GPU. A tensor is rounded into a new buffer; "in place" copies
 * that buffer back (a shader cannot read and write the same storage buffer).
 */
import type { TensorInfo } from "@tensorflow/tfjs-core";
import { createRequire } from "node:module";
import { tf } from "../tf.ts";
import type { HalfFormat } from "./rounding.ts";

const require = createRequire(import.meta.url);

/** What of tfjs-backend-webgpu's `WebGPUBackend` (4.22) these programs use. */
interface WebGPUBackendLike {
  runWebGPUProgram(program: object, inputs: TensorInfo[], outputDtype: string): TensorInfo;
  makeTensorInfo(shape: number[], dtype: string, values?: Float32Array): TensorInfo;
  disposeData(dataId: object): boolean;
  readSync(dataId: object): unknown;
  tensorMap: { get(dataId: object): { resource: { size: number } } };
  ensureCommandEncoderReady(): void;
  endComputePassEncoder(): void;
  commandEncoder: { copyBufferToBuffer(src: object, so: number, dst: object, doff: number, size: number): void };
}

const ROUND_WGSL: Record<HalfFormat, string> = {
  // float16: normal values keep 10 mantissa bits (ties to even; the carry may reach the exponent,
  // never past 65504); |x| ≥ 65520 overflows to ±inf; below 2^-14 the subnormals are multiples of
  // 2^-24 (ties to even), and what rounds below 2^-25 is ±0; NaN stays NaN.
  float16: `
    fn roundHalf(a : f32) -> f32 {
      let b = bitcast<u32>(a);
      let sign = b & 0x80000000u;
      let m = b & 0x7fffffffu;
      if (m >= 0x38800000u && m < 0x477ff000u) {
        return bitcast<f32>((b + 0xfffu + ((b >> 13u) & 1u)) & 0xffffe000u);
      }
      if (m >= 0x477ff000u) {
        if (m <= 0x7f800000u) { return bitcast<f32>(sign | 0x7f800000u); }
        return a;
      }
      if (m <= 0x33000000u) { return bitcast<f32>(sign); }
      // a multiple of 2^-24: the significand shifted right by -(e + 1), ties to even
      let e = i32(m >> 23u) - 127;
      let significand = (m & 0x7fffffu) | 0x800000u;
      let s = u32(-(e + 1));
      let q = significand >> s;
      let rest = significand & ((1u << s) - 1u);
      let halfway = 1u << (s - 1u);
      var r = q;
      if (rest > halfway || (rest == halfway && (q & 1u) == 1u)) { r = q + 1u; }
      if (r == 0u) { return bitcast<f32>(sign); }
      return bitcast<f32>(sign | bitcast<u32>(f32(r) * 5.9604644775390625e-8));
    }`,
  // bfloat16: float32's exponent, 7-bit mantissa: drop the low 16 bits, ties to even; NaN quieted.
  bfloat16: `
    fn roundHalf(a : f32) -> f32 {
      let b = bitcast<u32>(a);
      if ((b & 0x7fffffffu) > 0x7f800000u) { return bitcast<f32>((b | 0x00400000u) & 0xffff0000u); }
      return bitcast<f32>((b + 0x7fffu + ((b >> 16u) & 1u)) & 0xffff0000u);
    }`,
};

function flatProgram(shape: number[], shaderKey: string, body: string): object {
  const { webgpu_util: util } = require("@tensorflow/tfjs-backend-webgpu") as {
    webgpu_util: { flatDispatchLayout(shape: number[]): object; computeDispatch(layout: object, shape: number[], size: number[]): number[] };
  };
  const workgroupSize = [128, 1, 1];
  const dispatchLayout = util.flatDispatchLayout(shape);
  return {
    variableNames: ["A"],
    outputShape: shape,
    shaderKey,
    dispatchLayout,
    dispatch: util.computeDispatch(dispatchLayout, shape, workgroupSize),
    workgroupSize,
    size: true,
    getUserCode: () => `${body}
      fn main(index : i32) {
        if (index < uniforms.size) {
          setOutputAtIndex(index, elementwise(getAByOutputIndex(index)));
        }
      }`,
  };
}

/** A new float32 tensor of the backend holding `x` rounded to `format`. */
export function roundedOnWebGPU(backend: object, x: TensorInfo, format: HalfFormat): TensorInfo {
  const program = flatProgram(x.shape, `lightningTsRound_${format}`, `${ROUND_WGSL[format]}\n fn elementwise(a : f32) -> f32 { return roundHalf(a); }`);
  return (backend as WebGPUBackendLike).runWebGPUProgram(program, [x], "float32");
}

/** Rounds `x`'s own buffer to `format` (for data only the caller has seen yet). */
export function roundInPlaceOnWebGPU(backend: object, x: TensorInfo, format: HalfFormat): void {
  const b = backend as WebGPUBackendLike;
  if (x.shape.reduce((n, d) => n * d, 1) === 0) return;
  const rounded = roundedOnWebGPU(backend, x, format);
  const source = b.tensorMap.get(rounded.dataId).resource;
  b.ensureCommandEncoderReady();
  b.endComputePassEncoder();
  b.commandEncoder.copyBufferToBuffer(source, 0, b.tensorMap.get(x.dataId).resource, 0, source.size);
  b.disposeData(rounded.dataId);
}

/**
 * `g` times `inv` (float32, correctly rounded as the CPU computes it), and whether any product is
 * inf or NaN — read back at once, as GradScaler's check needs the answer before the step.
 */
export function unscaleOnWebGPU(backend: object, g: TensorInfo, inv: number): { out: TensorInfo; nonFinite: boolean } {
  const b = backend as WebGPUBackendLike;
  const factor = `bitcast<f32>(${new Uint32Array(new Float32Array([inv]).buffer)[0]}u)`;
  const out = b.runWebGPUProgram(flatProgram(g.shape, `lightningTsUnscale_${factor}`, `fn elementwise(a : f32) -> f32 { return a * ${factor}; }`), [g], "float32");
  const flags = b.runWebGPUProgram(
    flatProgram(g.shape, "lightningTsNonFinite", `fn elementwise(a : f32) -> f32 { return select(0.0, 1.0, (bitcast<u32>(a) & 0x7f800000u) == 0x7f800000u); }`),
    [out],
    "float32",
  );
  // (reduced to one number on the GPU first: one float comes back, not the gradient's size)
  const axes = g.shape.map((_, i) => i);
  const any = axes.length === 0 ? flags : (tf.getKernel("Max", "webgpu")!.kernelFunc({ inputs: { x: flags }, backend, attrs: { reductionIndices: axes, keepDims: false } }) as TensorInfo);
  const nonFinite = (b.readSync(any.dataId) as Float32Array)[0] !== 0;
  if (any !== flags) b.disposeData(any.dataId);
  b.disposeData(flags.dataId);
  return { out, nonFinite };
}
