import { tf } from "../tf.ts";
import { streams, type Generator } from "../random.ts";

/**
 * `torch.nn.init.orthogonal_` (Saxe et al. 2013), re-exported from `nn.init`. PyTorch's recipe:
 * view the tensor as [rows, cols] with rows = shape[0], cols = numel / rows; fill it N(0, 1)
 * (row-major, from the parameter-initialisation stream unless a `generator` is given); take the
 * transpose when rows < cols; reduced QR; multiply Q's columns by sign(diag(R)) so the result is
 * unique; transpose back; scale by `gain`. The QR runs in float64 in JS (modified Gram-Schmidt
 * with one re-orthogonalisation pass, which yields the same Q as LAPACK after the sign fix).
 */
export interface OrthogonalOptions {
  gain?: number;
  /** Draw from this generator instead of the parameter-initialisation stream. */
  generator?: Generator;
}

/** Fills `tensor` (a parameter, at least 2-D) with a (semi-)orthogonal matrix times `gain`. */
export function orthogonal_(tensor: tf.Tensor, gain: number | OrthogonalOptions = 1): tf.Variable {
  const o: OrthogonalOptions = typeof gain === "number" ? { gain } : gain;
  if (!(tensor instanceof tf.Variable)) {
    throw new Error("nn.init.orthogonal_(): expected a tf.Variable (a parameter) to fill in place, got a plain tensor");
  }
  if (tensor.rank < 2) throw new Error("Only tensors with 2 or more dimensions are supported");
  if (tensor.size === 0) return tensor; // no-op, as in PyTorch
  const g = o.generator ?? streams.init;
  const rows = tensor.shape[0];
  const cols = tensor.size / rows;

  const flat = new Float64Array(rows * cols);
  for (let i = 0; i < flat.length; i++) flat[i] = g.normal();

  // A is m x n with m >= n: the matrix itself, or its transpose when rows < cols.
  const transposed = rows < cols;
  const m = transposed ? cols : rows;
  const n = transposed ? rows : cols;
  const a = (i: number, j: number) => (transposed ? flat[j * cols + i] : flat[i * cols + j]);

  // Column-major Q (n columns of length m), R's diagonal signs.
  const q: Float64Array[] = [];
  for (let j = 0; j < n; j++) {
    const v = new Float64Array(m);
    for (let i = 0; i < m; i++) v[i] = a(i, j);
    const original = v.slice();
    for (let pass = 0; pass < 2; pass++) {
      for (let k = 0; k < j; k++) {
        let dot = 0;
        for (let i = 0; i < m; i++) dot += q[k][i] * v[i];
        for (let i = 0; i < m; i++) v[i] -= dot * q[k][i];
      }
    }
    let norm = 0;
    for (let i = 0; i < m; i++) norm += v[i] * v[i];
    norm = Math.sqrt(norm);
    if (norm === 0) throw new Error("orthogonal_(): the random matrix is rank deficient");
    for (let i = 0; i < m; i++) v[i] /= norm;
    // Gram-Schmidt gives R's diagonal positive (r_jj = q_j . a_j > 0), which is what
    // LAPACK's Q times sign(diag(R)) gives; the check guards against round-off flips.
    let rjj = 0;
    for (let i = 0; i < m; i++) rjj += v[i] * original[i];
    if (rjj < 0) for (let i = 0; i < m; i++) v[i] = -v[i];
    q.push(v);
  }

  const scale = o.gain ?? 1;
  const out = new Float32Array(rows * cols);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) {
      // Element (r, c) of the [rows, cols] view: Q[r][c], or Q^T[r][c] = Q[c][r] when transposed.
      out[r * cols + c] = scale * (transposed ? q[r][c] : q[c][r]);
    }
  }
  const next = tf.tensor(out, tensor.shape, "float32");
  tensor.assign(tensor.dtype === "float32" ? next : tf.cast(next, tensor.dtype));
  next.dispose();
  return tensor;
}
