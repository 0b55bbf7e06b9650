import { WasmHeapModule } from "../wasm_heap_module.ts";
import { NORMALIZATION_SIMD_WASM } from "./normalization_simd_wasm.ts";

/**
 * The passes of batch and layer normalisation (batch_norm.ts, layer_norm.ts) over contiguous
 * runs: WebAssembly SIMD where every array lies on the WASM heap (normalization_simd.wat, which
 * gives the summation order), and the same operations here, with the same bits, for the pure-JS
 * backend and short runs.
 */

interface SimdExports {
  sum(x: number, runs: number, stride: number, n: number, m: number, square: number): number;
  layerNormForward(
    x: number,
    w: number,
    b: number,
    y: number,
    mean: number,
    invstd: number,
    rows: number,
    d: number,
    eps: number,
  ): void;
  layerNormInputGrad(
    x: number,
    dy: number,
    w: number,
    mean: number,
    invstd: number,
    dx: number,
    rows: number,
    d: number,
  ): void;
  layerNormParamGrad(
    x: number,
    dy: number,
    mean: number,
    invstd: number,
    acc: number,
    rows: number,
    d: number,
    centred: number,
  ): void;
  dot(x: number, dy: number, runs: number, stride: number, n: number, m: number): number;
  affine(
    x: number,
    dy: number,
    out: number,
    runs: number,
    stride: number,
    n: number,
    m: number,
    k: number,
    shift: number,
    scale: number,
  ): void;
}

const normalizationSimd = new WasmHeapModule<SimdExports>(NORMALIZATION_SIMD_WASM);

/**
 * Runs shorter than this take the JavaScript path on WASM too (a call costs more than it saves);
 * the choice depends on the length only, so both backends agree.
 */
const MIN_SIMD_RUN = 16;

/** Batch normalisation's passes over a channel of [N, C, S]: N runs of S elements. */
export class ChannelRuns {
  private readonly simd: SimdExports | null;
  /** Bytes from one of a channel's runs to the next. */
  private readonly stride: number;

  constructor(
    readonly N: number,
    readonly C: number,
    readonly S: number,
    arrays: ArrayBufferView[],
  ) {
    this.simd = S >= MIN_SIMD_RUN ? normalizationSimd.exportsFor(...arrays) : null;
    this.stride = 4 * C * S;
  }

  private from(i: number, c: number): number {
    return (i * this.C + c) * this.S;
  }

  /** Σ (x − m)², or Σ (x − m) when not `square`, over channel c, in float64. */
  sum(xs: Float32Array, c: number, m: number, square: boolean): number {
    if (this.simd !== null)
      return this.simd.sum(xs.byteOffset + 4 * this.from(0, c), this.N, this.stride, this.S, m, square ? 1 : 0);
    let total = 0;
    for (let i = 0; i < this.N; i++) total += rowSum(xs, this.from(i, c), this.S, m, square);
    return total;
  }

  /** Σ (x − m)·dy over channel c, in float64. */
  dot(xs: Float32Array, dys: Float32Array, c: number, m: number): number {
    const at = 4 * this.from(0, c);
    if (this.simd !== null)
      return this.simd.dot(xs.byteOffset + at, dys.byteOffset + at, this.N, this.stride, this.S, m);
    let total = 0;
    for (let i = 0; i < this.N; i++) total += rowDot(xs, dys, this.from(i, c), this.S, m);
    return total;
  }

  /** out = (x − m)·scale + shift over channel c (the forward), float64 rounded once. */
  normalize(xs: Float32Array, out: Float32Array, c: number, m: number, scale: number, shift: number): void {
    const at = 4 * this.from(0, c);
    if (this.simd !== null) {
      this.simd.affine(xs.byteOffset + at, 0, out.byteOffset + at, this.N, this.stride, this.S, m, 0, shift, scale);
      return;
    }
    for (let i = 0; i < this.N; i++) {
      const from = this.from(i, c);
      for (let k = from; k < from + this.S; k++) out[k] = (xs[k]! - m) * scale + shift;
    }
  }

  /** out = (dy − meanDy − (x − m)·k)·scale over channel c (the input gradient), float64 rounded once. */
  inputGrad(
    xs: Float32Array,
    dys: Float32Array,
    out: Float32Array,
    c: number,
    m: number,
    k: number,
    meanDy: number,
    scale: number,
  ): void {
    const at = 4 * this.from(0, c);
    if (this.simd !== null) {
      this.simd.affine(
        xs.byteOffset + at,
        dys.byteOffset + at,
        out.byteOffset + at,
        this.N,
        this.stride,
        this.S,
        m,
        k,
        meanDy,
        scale,
      );
      return;
    }
    for (let i = 0; i < this.N; i++) {
      const from = this.from(i, c);
      for (let e = from; e < from + this.S; e++) out[e] = (dys[e]! - meanDy - (xs[e]! - m) * k) * scale;
    }
  }
}

/**
 * Layer normalisation's passes over [R, D] with the [D] weight and bias: each a single call into
 * WebAssembly where every array lies on the WASM heap, else these loops (the same operations).
 */
export class LayerNormPasses {
  private readonly simd: SimdExports | null;

  constructor(
    readonly R: number,
    readonly D: number,
    arrays: ArrayBufferView[],
  ) {
    this.simd = normalizationSimd.exportsFor(...arrays);
  }

  /** Each row's mean and invstd (saved as float32) and y = (x − mean)·invstd·w + b. */
  forward(
    xs: Float32Array,
    ws: Float32Array,
    bs: Float32Array,
    y: Float32Array,
    means: Float32Array,
    invstds: Float32Array,
    eps: number,
  ): void {
    const { R, D } = this;
    if (this.simd !== null) {
      this.simd.layerNormForward(
        xs.byteOffset,
        ws.byteOffset,
        bs.byteOffset,
        y.byteOffset,
        means.byteOffset,
        invstds.byteOffset,
        R,
        D,
        eps,
      );
      return;
    }
    for (let r = 0; r < R; r++) {
      const from = r * D;
      const mean = rowSum(xs, from, D, 0, false) / D;
      const variance = rowSum(xs, from, D, mean, true) / D;
      means[r] = mean;
      invstds[r] = 1 / Math.sqrt(variance + eps);
      const m = means[r]!;
      const is = invstds[r]!;
      for (let j = 0; j < D; j++) y[from + j] = (xs[from + j]! - m) * is * ws[j]! + bs[j]!;
    }
  }

  /** dx = (dy·w − Σdy·w / D − (x − mean)·invstd²·Σ(x − mean)·dy·w / D)·invstd, row by row. */
  inputGrad(
    xs: Float32Array,
    dys: Float32Array,
    ws: Float32Array,
    means: Float32Array,
    invstds: Float32Array,
    dx: Float32Array,
  ): void {
    const { R, D } = this;
    if (this.simd !== null) {
      this.simd.layerNormInputGrad(
        xs.byteOffset,
        dys.byteOffset,
        ws.byteOffset,
        means.byteOffset,
        invstds.byteOffset,
        dx.byteOffset,
        R,
        D,
      );
      return;
    }
    for (let r = 0; r < R; r++) {
      const from = r * D;
      const m = means[r]!;
      const is = invstds[r]!;
      const a = weightedRowSum(xs, dys, ws, from, D, m, false) / D;
      const k = (weightedRowSum(xs, dys, ws, from, D, m, true) * is * is) / D;
      for (let j = 0; j < D; j++) dx[from + j] = (dys[from + j]! * ws[j]! - a - (xs[from + j]! - m) * k) * is;
    }
  }

  /** acc += Σ_rows dy·(x − mean)·invstd when `centred` (the weight's gradient), else Σ_rows dy (the bias's); acc float64. */
  paramGrad(
    xs: Float32Array,
    dys: Float32Array,
    means: Float32Array,
    invstds: Float32Array,
    acc: Float64Array,
    centred: boolean,
  ): void {
    const { R, D } = this;
    if (this.simd !== null) {
      this.simd.layerNormParamGrad(
        xs.byteOffset,
        dys.byteOffset,
        means.byteOffset,
        invstds.byteOffset,
        acc.byteOffset,
        R,
        D,
        centred ? 1 : 0,
      );
      return;
    }
    for (let r = 0; r < R; r++) {
      const from = r * D;
      const m = means[r]!;
      const is = invstds[r]!;
      for (let j = 0; j < D; j++) acc[j] += centred ? dys[from + j]! * (xs[from + j]! - m) * is : dys[from + j]!;
    }
  }
}

/** Σ (x − m)², or Σ (x − m) when not `square`, over n elements from `from`, in the SIMD pass's order. */
function rowSum(xs: Float32Array, from: number, n: number, m: number, square: boolean): number {
  let a0 = 0;
  let a1 = 0;
  let a2 = 0;
  let a3 = 0;
  const end = from + (n & ~3);
  let k = from;
  for (; k < end; k += 4) {
    const d0 = xs[k]! - m;
    const d1 = xs[k + 1]! - m;
    const d2 = xs[k + 2]! - m;
    const d3 = xs[k + 3]! - m;
    a0 += square ? d0 * d0 : d0;
    a1 += square ? d1 * d1 : d1;
    a2 += square ? d2 * d2 : d2;
    a3 += square ? d3 * d3 : d3;
  }
  let s = a0 + a1 + (a2 + a3);
  for (; k < from + n; k++) {
    const d = xs[k]! - m;
    s += square ? d * d : d;
  }
  return s;
}

/** Σ (x − m)·dy over n elements from `from`, in the SIMD pass's order. */
function rowDot(xs: Float32Array, dys: Float32Array, from: number, n: number, m: number): number {
  let a0 = 0;
  let a1 = 0;
  let a2 = 0;
  let a3 = 0;
  const end = from + (n & ~3);
  let k = from;
  for (; k < end; k += 4) {
    a0 += (xs[k]! - m) * dys[k]!;
    a1 += (xs[k + 1]! - m) * dys[k + 1]!;
    a2 += (xs[k + 2]! - m) * dys[k + 2]!;
    a3 += (xs[k + 3]! - m) * dys[k + 3]!;
  }
  let s = a0 + a1 + (a2 + a3);
  for (; k < from + n; k++) s += (xs[k]! - m) * dys[k]!;
  return s;
}

/** Σ (x − m)·dy·w when `centred`, else Σ dy·w, over a row (w from its start), in the SIMD pass's order. */
function weightedRowSum(
  xs: Float32Array,
  dys: Float32Array,
  ws: Float32Array,
  from: number,
  n: number,
  m: number,
  centred: boolean,
): number {
  let a0 = 0;
  let a1 = 0;
  let a2 = 0;
  let a3 = 0;
  const end = n & ~3;
  let j = 0;
  let k = from;
  if (centred) {
    for (; j < end; j += 4, k += 4) {
      a0 += dys[k]! * ws[j]! * (xs[k]! - m);
      a1 += dys[k + 1]! * ws[j + 1]! * (xs[k + 1]! - m);
      a2 += dys[k + 2]! * ws[j + 2]! * (xs[k + 2]! - m);
      a3 += dys[k + 3]! * ws[j + 3]! * (xs[k + 3]! - m);
    }
  } else {
    for (; j < end; j += 4, k += 4) {
      a0 += dys[k]! * ws[j]!;
      a1 += dys[k + 1]! * ws[j + 1]!;
      a2 += dys[k + 2]! * ws[j + 2]!;
      a3 += dys[k + 3]! * ws[j + 3]!;
    }
  }
  let s = a0 + a1 + (a2 + a3);
  for (; j < n; j++, k++) s += centred ? dys[k]! * ws[j]! * (xs[k]! - m) : dys[k]! * ws[j]!;
  return s;
}
