import type { NamedAttrMap, TensorInfo } from "@tensorflow/tfjs-core";
import type { KernelContext } from "./kernel_context.ts";
import { convInfo, type Conv2DInfo } from "./conv_info.ts";

/**
 * The gradients of `depthwiseConv2d` (NHWC; filter [FH, FW, C, mult]; output channel
 * j = c·mult + q reads input channel c). WASM lacks both kernels.
 *
 * A depthwise convolution does FH·FW·mult multiply-adds per input element, no channel
 * mixing, so there is no matrix product to hand to XNNPACK: both gradients are one pass in
 * which the innermost loop runs over the contiguous output channels of one pixel. Dilations
 * are honoured (tfjs's own gradient refuses them, but the kernels take the attribute).
 */

/** Calls `visit(xOff, dyOff, tapOff)` for every (output pixel, filter tap) inside the input. */
function forEachTap(g: Conv2DInfo, visit: (xOff: number, dyOff: number, tapOff: number) => void): void {
  const { batchSize: N, inHeight: H, inWidth: W, inChannels: C, outHeight: OH, outWidth: OW } = g;
  const { filterHeight: FH, filterWidth: FW, strideHeight: sh, strideWidth: sw } = g;
  const { dilationHeight: dh, dilationWidth: dw, outChannels: CM } = g;
  const pt = g.padInfo.top;
  const pl = g.padInfo.left;
  for (let n = 0; n < N; n++) {
    for (let oh = 0; oh < OH; oh++) {
      for (let ow = 0; ow < OW; ow++) {
        const dyOff = ((n * OH + oh) * OW + ow) * CM;
        for (let fh = 0; fh < FH; fh++) {
          const ih = oh * sh + fh * dh - pt;
          if (ih < 0 || ih >= H) continue;
          for (let fw = 0; fw < FW; fw++) {
            const iw = ow * sw + fw * dw - pl;
            if (iw < 0 || iw >= W) continue;
            visit(((n * H + ih) * W + iw) * C, dyOff, (fh * FW + fw) * CM);
          }
        }
      }
    }
  }
}

/** `DepthwiseConv2dNativeBackpropFilter`: dW[fh, fw, c, q] = Σ x[.., c] · dy[.., c·mult + q]. */
export function depthwiseConv2dBackpropFilter(
  ctx: KernelContext,
  inputs: Record<string, TensorInfo>,
  attrs: NamedAttrMap,
): TensorInfo {
  const filterShape = attrs.filterShape as [number, number, number, number];
  const info = convInfo(inputs.x.shape as [number, number, number, number], filterShape, attrs, true);
  const mult = filterShape[3];
  const CM = info.outChannels;
  const out = ctx.empty(filterShape, "float32");
  const x = ctx.floats(inputs.x);
  const dy = ctx.floats(inputs.dy);
  const acc = new Float64Array(out.shape.reduce((a, b) => a * b, 1));
  if (mult === 1) {
    forEachTap(info, (xOff, dyOff, tapOff) => {
      for (let j = 0; j < CM; j++) acc[tapOff + j] += x[xOff + j] * dy[dyOff + j];
    });
  } else {
    forEachTap(info, (xOff, dyOff, tapOff) => {
      for (let j = 0; j < CM; j++) acc[tapOff + j] += x[xOff + ((j / mult) | 0)] * dy[dyOff + j];
    });
  }
  (ctx.values(out) as Float32Array).set(acc);
  return out;
}

/** `DepthwiseConv2dNativeBackpropInput`: dx[.., c] = Σ_{taps, q} W[fh, fw, c, q] · dy[.., c·mult + q]. */
export function depthwiseConv2dBackpropInput(
  ctx: KernelContext,
  inputs: Record<string, TensorInfo>,
  attrs: NamedAttrMap,
): TensorInfo {
  const inShape = attrs.inputShape as [number, number, number, number];
  const filterShape = inputs.filter.shape as [number, number, number, number];
  const info = convInfo(inShape, filterShape, attrs, true);
  const mult = filterShape[3];
  const CM = info.outChannels;
  const out = ctx.empty(inShape, "float32");
  const w = ctx.floats(inputs.filter);
  const dy = ctx.floats(inputs.dy);
  const acc = new Float64Array(out.shape.reduce((a, b) => a * b, 1));
  if (mult === 1) {
    forEachTap(info, (xOff, dyOff, tapOff) => {
      for (let j = 0; j < CM; j++) acc[xOff + j] += w[tapOff + j] * dy[dyOff + j];
    });
  } else {
    const C = info.inChannels;
    forEachTap(info, (xOff, dyOff, tapOff) => {
      for (let c = 0; c < C; c++) {
        let s = 0;
        for (let q = 0, j = c * mult; q < mult; q++, j++) s += w[tapOff + j] * dy[dyOff + j];
        acc[xOff + c] += s;
      }
    });
  }
  (ctx.values(out) as Float32Array).set(acc);
  return out;
}
