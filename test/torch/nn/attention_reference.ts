/**
 * Plain-JS references for the attention tests (not a test file): PyTorch's documented
 * formulas written as loops over flat row-major arrays, sharing no code with src/.
 */

/** softmax of one row, in float64; a row of -inf gives NaN as in PyTorch. */
export function softmaxRow(row: number[]): number[] {
  const m = Math.max(...row);
  const e = row.map((x) => Math.exp(x - m));
  const s = e.reduce((a, b) => a + b, 0);
  return e.map((x) => x / s);
}

/** y[r][o] = Σ_i x[r][i] W[o][i] + b[o] for x [rows, in], W [out, in]. */
export function naiveLinear(x: number[], rows: number, W: number[], out: number, b: number[] | null): number[] {
  const inF = W.length / out;
  const y = new Array(rows * out).fill(0);
  for (let r = 0; r < rows; r++)
    for (let o = 0; o < out; o++) {
      let acc = b ? b[o] : 0;
      for (let i = 0; i < inF; i++) acc += x[r * inF + i] * W[o * inF + i];
      y[r * out + o] = acc;
    }
  return y;
}

export interface NaiveMhaArgs {
  /** batch-first flat inputs: q [N, L, E], k [N, S, kdim], v [N, S, vdim] */
  q: number[];
  k: number[];
  v: number[];
  n: number;
  l: number;
  s: number;
  e: number;
  heads: number;
  /** projection weights [E, E], [E, kdim], [E, vdim] (rows of in_proj_weight) and biases */
  wq: number[];
  wk: number[];
  wv: number[];
  bq: number[] | null;
  bk: number[] | null;
  bv: number[] | null;
  wo: number[];
  bo: number[] | null;
  /** additive mask value for (n, h, l, s): 0, a float, or -Infinity */
  mask?: (n: number, h: number, l: number, s: number) => number;
}

/**
 * PyTorch's multi-head attention, per batch element and head with an explicit softmax.
 * Returns out [N, L, E] and weights [N, H, L, S].
 */
export function naiveMha(a: NaiveMhaArgs): { out: number[]; weights: number[] } {
  const { n, l, s, e, heads } = a;
  const hd = e / heads;
  const kd = a.wk.length / e;
  const vd = a.wv.length / e;
  const out = new Array(n * l * e).fill(0);
  const weights = new Array(n * heads * l * s).fill(0);
  for (let b = 0; b < n; b++) {
    const Q = naiveLinear(a.q.slice(b * l * e, (b + 1) * l * e), l, a.wq, e, a.bq);
    const K = naiveLinear(a.k.slice(b * s * kd, (b + 1) * s * kd), s, a.wk, e, a.bk);
    const V = naiveLinear(a.v.slice(b * s * vd, (b + 1) * s * vd), s, a.wv, e, a.bv);
    const ctx = new Array(l * e).fill(0);
    for (let h = 0; h < heads; h++) {
      for (let i = 0; i < l; i++) {
        const scores: number[] = [];
        for (let j = 0; j < s; j++) {
          let dot = 0;
          for (let d = 0; d < hd; d++) dot += Q[i * e + h * hd + d] * K[j * e + h * hd + d];
          scores.push(dot / Math.sqrt(hd) + (a.mask ? a.mask(b, h, i, j) : 0));
        }
        const w = softmaxRow(scores);
        for (let j = 0; j < s; j++) {
          weights[((b * heads + h) * l + i) * s + j] = w[j];
          for (let d = 0; d < hd; d++) ctx[i * e + h * hd + d] += w[j] * V[j * e + h * hd + d];
        }
      }
    }
    const o = naiveLinear(ctx, l, a.wo, e, a.bo);
    for (let i = 0; i < l * e; i++) out[b * l * e + i] = o[i];
  }
  return { out, weights };
}

/** [A, B, C] row-major → [B, A, C]. */
export function swap01(x: number[], a: number, b: number, c: number): number[] {
  const y = new Array(x.length);
  for (let i = 0; i < a; i++)
    for (let j = 0; j < b; j++) for (let k = 0; k < c; k++) y[(j * a + i) * c + k] = x[(i * b + j) * c + k];
  return y;
}

/** LayerNorm over the last dim (biased variance), then γ, β. */
export function naiveLayerNorm(x: number[], dim: number, g: number[], b: number[], eps = 1e-5): number[] {
  const y = new Array(x.length);
  for (let r = 0; r < x.length / dim; r++) {
    const row = x.slice(r * dim, (r + 1) * dim);
    const mean = row.reduce((p, q) => p + q, 0) / dim;
    const v = row.reduce((p, q) => p + (q - mean) ** 2, 0) / dim;
    for (let i = 0; i < dim; i++) y[r * dim + i] = ((row[i] - mean) / Math.sqrt(v + eps)) * g[i] + b[i];
  }
  return y;
}
