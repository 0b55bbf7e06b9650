import type { NamedAttrMap, TensorInfo } from "@tensorflow/tfjs-core";
import type { KernelContext } from "./kernel_context.ts";
import { convInfo, fromChannelsLast, isChannelsFirst, shapeToChannelsLast, toChannelsLast, type Conv2DInfo } from "./conv_info.ts";

/**
 * `Conv2D` for the pure-JS backend: y[n, oh, ow, k] = Σ_{fh, fw, c} x[n, ih, iw, c] · W[fh, fw, c, k].
 *
 * tfjs's own loop walks the filter with the output channel outermost, re-reading the input for
 * every output channel (~0.8 s for the benchmark CNN's second layer). Here each output pixel's
 * K accumulators stay in a small float64 row while four input channels at a time stream
 * through, so every innermost loop is contiguous in both the filter and the row: ~3x faster.
 */
export function conv2dDirect(ctx: KernelContext, inputs: Record<string, TensorInfo>, attrs: NamedAttrMap): TensorInfo {
  const channelsFirst = isChannelsFirst(attrs);
  const x = toChannelsLast(ctx, inputs.x, channelsFirst);
  const filterShape = inputs.filter.shape as [number, number, number, number];
  const info = convInfo(shapeToChannelsLast(inputs.x.shape, channelsFirst), filterShape, attrs, false);
  const out = ctx.empty([info.batchSize, info.outHeight, info.outWidth, info.outChannels], "float32");
  convolve(ctx.floats(x), ctx.floats(inputs.filter), info, ctx.values(out) as Float32Array);
  return fromChannelsLast(ctx, out, channelsFirst);
}

function convolve(x: Float32Array, w: Float32Array, g: Conv2DInfo, y: Float32Array): void {
  const { batchSize: N, inHeight: H, inWidth: W, inChannels: C, outHeight: OH, outWidth: OW } = g;
  const { filterHeight: FH, filterWidth: FW, strideHeight: sh, strideWidth: sw, outChannels: K } = g;
  const { dilationHeight: dh, dilationWidth: dw } = g;
  const pt = g.padInfo.top;
  const pl = g.padInfo.left;
  const row = new Float64Array(K);
  const C4 = C - (C % 4);
  for (let n = 0; n < N; n++) {
    for (let oh = 0; oh < OH; oh++) {
      for (let ow = 0; ow < OW; ow++) {
        row.fill(0);
        for (let fh = 0; fh < FH; fh++) {
          const ih = oh * sh + fh * dh - pt;
          if (ih < 0 || ih >= H) continue;
          for (let fw = 0; fw < FW; fw++) {
            const iw = ow * sw + fw * dw - pl;
            if (iw < 0 || iw >= W) continue;
            const xOff = ((n * H + ih) * W + iw) * C;
            const tap = (fh * FW + fw) * C;
            let c = 0;
            for (; c < C4; c += 4) {
              const a0 = x[xOff + c];
              const a1 = x[xOff + c + 1];
              const a2 = x[xOff + c + 2];
              const a3 = x[xOff + c + 3];
              const w0 = (tap + c) * K;
              const w1 = w0 + K;
              const w2 = w1 + K;
              const w3 = w2 + K;
              for (let k = 0; k < K; k++) row[k] += a0 * w[w0 + k] + a1 * w[w1 + k] + a2 * w[w2 + k] + a3 * w[w3 + k];
            }
            for (; c < C; c++) {
              const a = x[xOff + c];
              const w0 = (tap + c) * K;
              for (let k = 0; k < K; k++) row[k] += a * w[w0 + k];
            }
          }
        }
        const yOff = ((n * OH + oh) * OW + ow) * K;
        for (let k = 0; k < K; k++) y[yOff + k] = row[k];
      }
    }
  }
}
