/**
 * Textbook float64 implementations of the kernels lightning-ts shims, written from their
 * definitions (a sum over the convolution's index set), sharing no code with src: the
 * independent reference for the shims and for the pure-JS backend's replaced kernels.
 * Channels-last; `pad` is the top/left padding of the forward convolution.
 */

export interface Geometry {
  n: number;
  h: number;
  w: number;
  c: number;
  oh: number;
  ow: number;
  fh: number;
  fw: number;
  stride: [number, number];
  dilation: [number, number];
  pad: [number, number];
}

/** Input row/column read by output (oy, ox) at tap (ky, kx), or -1 outside the input. */
export function source(g: Geometry, oy: number, ox: number, ky: number, kx: number): [number, number] | null {
  const iy = oy * g.stride[0] + ky * g.dilation[0] - g.pad[0];
  const ix = ox * g.stride[1] + kx * g.dilation[1] - g.pad[1];
  return iy >= 0 && iy < g.h && ix >= 0 && ix < g.w ? [iy, ix] : null;
}

/** y[b, oy, ox, co] = Σ x[b, iy, ix, ci] · W[ky, kx, ci, co]. */
export function conv(x: ArrayLike<number>, w: ArrayLike<number>, g: Geometry, k: number): Float64Array {
  const y = new Float64Array(g.n * g.oh * g.ow * k);
  for (let b = 0; b < g.n; b++)
    for (let oy = 0; oy < g.oh; oy++)
      for (let ox = 0; ox < g.ow; ox++)
        for (let ky = 0; ky < g.fh; ky++)
          for (let kx = 0; kx < g.fw; kx++) {
            const s = source(g, oy, ox, ky, kx);
            if (!s) continue;
            for (let ci = 0; ci < g.c; ci++)
              for (let co = 0; co < k; co++)
                y[((b * g.oh + oy) * g.ow + ox) * k + co] +=
                  x[((b * g.h + s[0]) * g.w + s[1]) * g.c + ci] * w[((ky * g.fw + kx) * g.c + ci) * k + co];
          }
  return y;
}

/** dW[ky, kx, ci, co] = Σ x[b, iy, ix, ci] · dy[b, oy, ox, co]; x NHWC, dy [n, oh, ow, k]. */
export function convFilterGrad(x: ArrayLike<number>, dy: ArrayLike<number>, g: Geometry, k: number): Float64Array {
  const dW = new Float64Array(g.fh * g.fw * g.c * k);
  for (let b = 0; b < g.n; b++)
    for (let oy = 0; oy < g.oh; oy++)
      for (let ox = 0; ox < g.ow; ox++)
        for (let ky = 0; ky < g.fh; ky++)
          for (let kx = 0; kx < g.fw; kx++) {
            const s = source(g, oy, ox, ky, kx);
            if (!s) continue;
            for (let ci = 0; ci < g.c; ci++)
              for (let co = 0; co < k; co++)
                dW[((ky * g.fw + kx) * g.c + ci) * k + co] +=
                  x[((b * g.h + s[0]) * g.w + s[1]) * g.c + ci] * dy[((b * g.oh + oy) * g.ow + ox) * k + co];
          }
  return dW;
}

/** dx[b, iy, ix, ci] = Σ W[ky, kx, ci, co] · dy[b, oy, ox, co]. */
export function convInputGrad(w: ArrayLike<number>, dy: ArrayLike<number>, g: Geometry, k: number): Float64Array {
  const dx = new Float64Array(g.n * g.h * g.w * g.c);
  for (let b = 0; b < g.n; b++)
    for (let oy = 0; oy < g.oh; oy++)
      for (let ox = 0; ox < g.ow; ox++)
        for (let ky = 0; ky < g.fh; ky++)
          for (let kx = 0; kx < g.fw; kx++) {
            const s = source(g, oy, ox, ky, kx);
            if (!s) continue;
            for (let ci = 0; ci < g.c; ci++)
              for (let co = 0; co < k; co++)
                dx[((b * g.h + s[0]) * g.w + s[1]) * g.c + ci] +=
                  w[((ky * g.fw + kx) * g.c + ci) * k + co] * dy[((b * g.oh + oy) * g.ow + ox) * k + co];
          }
  return dx;
}

/** Depthwise, filter [fh, fw, c, m], output channel ci·m + q: the filter gradient. */
export function depthwiseFilterGrad(x: ArrayLike<number>, dy: ArrayLike<number>, g: Geometry, m: number): Float64Array {
  const dW = new Float64Array(g.fh * g.fw * g.c * m);
  const k = g.c * m;
  for (let b = 0; b < g.n; b++)
    for (let oy = 0; oy < g.oh; oy++)
      for (let ox = 0; ox < g.ow; ox++)
        for (let ky = 0; ky < g.fh; ky++)
          for (let kx = 0; kx < g.fw; kx++) {
            const s = source(g, oy, ox, ky, kx);
            if (!s) continue;
            for (let ci = 0; ci < g.c; ci++)
              for (let q = 0; q < m; q++)
                dW[((ky * g.fw + kx) * g.c + ci) * m + q] +=
                  x[((b * g.h + s[0]) * g.w + s[1]) * g.c + ci] * dy[((b * g.oh + oy) * g.ow + ox) * k + ci * m + q];
          }
  return dW;
}

/** Depthwise input gradient. */
export function depthwiseInputGrad(w: ArrayLike<number>, dy: ArrayLike<number>, g: Geometry, m: number): Float64Array {
  const dx = new Float64Array(g.n * g.h * g.w * g.c);
  const k = g.c * m;
  for (let b = 0; b < g.n; b++)
    for (let oy = 0; oy < g.oh; oy++)
      for (let ox = 0; ox < g.ow; ox++)
        for (let ky = 0; ky < g.fh; ky++)
          for (let kx = 0; kx < g.fw; kx++) {
            const s = source(g, oy, ox, ky, kx);
            if (!s) continue;
            for (let ci = 0; ci < g.c; ci++)
              for (let q = 0; q < m; q++)
                dx[((b * g.h + s[0]) * g.w + s[1]) * g.c + ci] +=
                  w[((ky * g.fw + kx) * g.c + ci) * m + q] * dy[((b * g.oh + oy) * g.ow + ox) * k + ci * m + q];
          }
  return dx;
}

/** Max-pool gradient: each output's dy goes to the first (row-major) maximum of its window. */
export function maxPoolGrad(x: ArrayLike<number>, dy: ArrayLike<number>, g: Geometry): Float64Array {
  const dx = new Float64Array(g.n * g.h * g.w * g.c);
  for (let b = 0; b < g.n; b++)
    for (let oy = 0; oy < g.oh; oy++)
      for (let ox = 0; ox < g.ow; ox++)
        for (let ci = 0; ci < g.c; ci++) {
          let best = -Infinity;
          let at = -1;
          for (let ky = 0; ky < g.fh; ky++)
            for (let kx = 0; kx < g.fw; kx++) {
              const s = source(g, oy, ox, ky, kx);
              if (!s) continue;
              const i = ((b * g.h + s[0]) * g.w + s[1]) * g.c + ci;
              if (x[i] > best) {
                best = x[i];
                at = i;
              }
            }
          if (at >= 0) dx[at] += dy[((b * g.oh + oy) * g.ow + ox) * g.c + ci];
        }
  return dx;
}

/** out[s, j] = Σ_{i: ids[i] = s} x[i, j], ids outside [0, segments) dropped. */
export function segmentSum(x: ArrayLike<number>, ids: ArrayLike<number>, segments: number, inner: number): Float64Array {
  const out = new Float64Array(segments * inner);
  for (let i = 0; i < ids.length; i++) {
    if (ids[i] < 0 || ids[i] >= segments) continue;
    for (let j = 0; j < inner; j++) out[ids[i] * inner + j] += x[i * inner + j];
  }
  return out;
}

/** Output size of a convolution along one axis with explicit padding. */
export function outSize(size: number, filter: number, stride: number, dilation: number, padBefore: number, padAfter: number): number {
  return Math.floor((size + padBefore + padAfter - ((filter - 1) * dilation + 1)) / stride) + 1;
}
