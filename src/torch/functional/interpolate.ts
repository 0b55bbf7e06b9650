import { tf } from "../tf.ts";
import { shapeStr } from "./_util.ts";

export type InterpolateMode = "nearest" | "bilinear";

export interface InterpolateOptions {
  /** Output [H, W] (or one number for both). Exactly one of `size` and `scaleFactor`. */
  size?: number | readonly [number, number];
  /** Output = floor(input * scaleFactor); the coordinate mapping then uses 1 / scaleFactor. */
  scaleFactor?: number | readonly [number, number];
  /** Default "nearest". */
  mode?: InterpolateMode;
  /** Bilinear only: map corner pixel centres onto each other (default false). */
  alignCorners?: boolean;
}

const f32 = Math.fround;

/**
 * PyTorch's `compute_scales_value<float>`: 1 / scaleFactor when one was given, else in / out,
 * rounded to float32 as the CPU kernels compute it.
 */
function coordScale(inSize: number, outSize: number, scaleFactor: number | undefined): number {
  return scaleFactor !== undefined && scaleFactor > 0 ? f32(1 / scaleFactor) : f32(inSize / outSize);
}

/** PyTorch's `nearest_idx`: floorf(dst * scale) clamped, with its out == in and out == 2 in shortcuts. */
export function nearestIndices(inSize: number, outSize: number, scaleFactor?: number): Int32Array {
  const idx = new Int32Array(outSize);
  const scale = coordScale(inSize, outSize, scaleFactor);
  for (let i = 0; i < outSize; i++) {
    if (outSize === inSize) idx[i] = i;
    else if (outSize === 2 * inSize) idx[i] = i >> 1;
    else idx[i] = Math.min(Math.floor(f32(i * scale)), inSize - 1);
  }
  return idx;
}

/**
 * PyTorch's linear source indices and weights (`area_pixel_compute_source_index` and
 * `compute_indices_weights_linear`), in float32 arithmetic like the CPU kernel:
 * alignCorners: src = dst (in - 1) / (out - 1); otherwise src = max(0, (dst + 0.5) scale - 0.5).
 */
export function linearIndices(
  inSize: number,
  outSize: number,
  alignCorners: boolean,
  scaleFactor?: number,
): { i0: Int32Array; i1: Int32Array; l0: Float32Array; l1: Float32Array } {
  const i0 = new Int32Array(outSize);
  const i1 = new Int32Array(outSize);
  const l0 = new Float32Array(outSize);
  const l1 = new Float32Array(outSize);
  const scale = alignCorners
    ? outSize > 1
      ? f32((inSize - 1) / (outSize - 1))
      : 0
    : coordScale(inSize, outSize, scaleFactor);
  for (let d = 0; d < outSize; d++) {
    let src: number;
    if (alignCorners) src = f32(scale * d);
    else {
      src = f32(f32(scale * f32(d + 0.5)) - 0.5);
      if (src < 0) src = 0;
    }
    const lo = Math.trunc(src);
    const lam = Math.min(Math.max(f32(src - lo), 0), 1);
    i0[d] = lo;
    i1[d] = lo < inSize - 1 ? lo + 1 : lo;
    l1[d] = lam;
    l0[d] = f32(1 - lam);
  }
  return { i0, i1, l0, l1 };
}

function isIdentity(idx: Int32Array, inSize: number): boolean {
  return idx.length === inSize && idx.every((v, i) => v === i);
}

function gatherAxis(x: tf.Tensor, idx: Int32Array, axis: number): tf.Tensor {
  if (isIdentity(idx, x.shape[axis])) return x;
  return tf.gather(x, tf.tensor1d(idx, "int32"), axis);
}

/** (1 - l) x[i0] + l x[i1] along `axis`, as gathers (their gradient is a segment sum). */
function lerpAxis(x: tf.Tensor, axis: number, inSize: number, outSize: number, align: boolean, sf?: number): tf.Tensor {
  const { i0, i1, l0, l1 } = linearIndices(inSize, outSize, align, sf);
  if (isIdentity(i0, inSize) && l1.every((v) => v === 0)) return x;
  const wshape = x.shape.map((_, d) => (d === axis ? outSize : 1));
  return tf.add(
    tf.mul(gatherAxis(x, i0, axis), tf.tensor(l0, wshape)),
    tf.mul(gatherAxis(x, i1, axis), tf.tensor(l1, wshape)),
  );
}

function pairOf(v: number | readonly [number, number], what: string): [number, number] {
  const p: [number, number] = typeof v === "number" ? [v, v] : [v[0], v[1]];
  if (p.length !== 2) throw new Error(`interpolate(): ${what} must be a number or a pair, got ${JSON.stringify(v)}`);
  return p;
}

/**
 * `F.interpolate` for 4-D NCHW input, modes "nearest" and "bilinear", with PyTorch's coordinate
 * rules exactly: nearest takes floor(dst * in / out) (or 1 / scaleFactor when given), bilinear
 * takes half-pixel centres clamped at 0, or aligned corners. Built from gathers rather than
 * tfjs's resize kernels, whose coordinate scale is always in / out and whose bilinear gradient
 * ignores half-pixel centres.
 */
export function interpolate(x: tf.Tensor, options: InterpolateOptions = {}): tf.Tensor {
  const fn = "interpolate()";
  const { size, scaleFactor, mode = "nearest", alignCorners } = options;
  if (mode !== "nearest" && mode !== "bilinear")
    throw new Error(`${fn}: mode must be "nearest" or "bilinear", got "${mode as string}"`);
  if (x.rank !== 4) {
    throw new Error(
      `${fn}: expected 4-D input [N, C, H, W] (only 2-D spatial interpolation), got ${shapeStr(x.shape)}`,
    );
  }
  if (alignCorners !== undefined && mode === "nearest") {
    throw new Error(
      `${fn}: alignCorners option can only be set with the interpolating modes: linear | bilinear | bicubic | trilinear`,
    );
  }
  if ((size === undefined) === (scaleFactor === undefined))
    throw new Error(
      `${fn}: ${size === undefined ? "either size or scaleFactor should be defined" : "only one of size or scaleFactor should be defined"}`,
    );
  const [h, w] = x.shape.slice(2) as number[];
  let out: [number, number];
  let sf: [number, number] | [undefined, undefined] = [undefined, undefined];
  if (size !== undefined) {
    out = pairOf(size, "size");
  } else {
    sf = pairOf(scaleFactor!, "scaleFactor");
    out = [Math.floor(h * sf[0]), Math.floor(w * sf[1])];
  }
  if (!out.every((v) => Number.isInteger(v) && v >= 1)) {
    throw new Error(
      `${fn}: output size must be positive integers, got ${JSON.stringify(out)} for input ${shapeStr(x.shape)}`,
    );
  }
  return tf.tidy(() => {
    if (mode === "nearest") {
      return gatherAxis(gatherAxis(x, nearestIndices(h, out[0], sf[0]), 2), nearestIndices(w, out[1], sf[1]), 3);
    }
    const align = alignCorners ?? false;
    return lerpAxis(lerpAxis(x, 2, h, out[0], align, sf[0]), 3, w, out[1], align, sf[1]);
  });
}
