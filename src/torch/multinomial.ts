import { tf } from "./tf.ts";
import { Generator, streams } from "./random.ts";

export interface MultinomialOptions {
  /** Draw with replacement (default false: each category at most once per row). */
  replacement?: boolean;
  /** Draw from this generator instead of the random-ops stream. */
  generator?: Generator;
}

/**
 * `torch.multinomial(input, numSamples)`: category indices (int32; PyTorch: int64) drawn with
 * probabilities proportional to the non-negative weights of each row of a 1-D or 2-D `input`,
 * → [numSamples] or [rows, numSamples]. Without replacement the draws of a row are distinct.
 *
 * The weights are read to the host and the draws made there from the random-ops stream
 * (`manualSeed` reproduces them) in float64: tfjs's `multinomial` has no draws without
 * replacement and takes a seed that 0 turns into `Math.random`.
 */
export function multinomial(input: tf.Tensor, numSamples: number, options: MultinomialOptions = {}): tf.Tensor {
  const replacement = options.replacement ?? false;
  const gen = options.generator ?? streams.ops;
  if (input.rank !== 1 && input.rank !== 2) {
    throw new Error(`multinomial(): prob_dist must be 1 or 2 dim, got shape [${input.shape.join(", ")}]`);
  }
  if (!Number.isInteger(numSamples) || numSamples <= 0) {
    throw new Error(`multinomial(): cannot sample n_sample <= 0 samples, got ${numSamples}`);
  }
  const rows = input.rank === 1 ? 1 : input.shape[0];
  const n = input.shape[input.rank - 1];
  if (!replacement && numSamples > n) {
    throw new Error(
      `multinomial(): cannot sample n_sample > prob_dist.size(-1) samples without replacement (${numSamples} > ${n})`,
    );
  }
  const w = input.dataSync();
  const out = new Int32Array(rows * numSamples);
  for (let r = 0; r < rows; r++) {
    const row = w.subarray(r * n, (r + 1) * n);
    let total = 0;
    let positive = 0;
    for (const x of row) {
      if (!Number.isFinite(x) || x < 0)
        throw new Error("multinomial(): probability tensor contains either `inf`, `nan` or element < 0");
      total += x;
      if (x > 0) positive++;
    }
    if (!(total > 0)) throw new Error("multinomial(): invalid multinomial distribution (sum of probabilities <= 0)");
    if (!replacement && numSamples > positive) {
      throw new Error(
        "multinomial(): invalid multinomial distribution (with replacement=False, not enough non-negative category to sample)",
      );
    }
    const dst = out.subarray(r * numSamples, (r + 1) * numSamples);
    if (replacement) drawWithReplacement(row, total, dst, gen);
    else drawWithoutReplacement(row, dst, gen);
  }
  return tf.tensor(out, input.rank === 1 ? [numSamples] : [rows, numSamples], "int32");
}

/** Inverse-CDF draws: the first index whose cumulative weight exceeds u · total. */
function drawWithReplacement(row: ArrayLike<number>, total: number, dst: Int32Array, gen: Generator): void {
  const cdf = new Float64Array(row.length);
  let acc = 0;
  for (let i = 0; i < row.length; i++) cdf[i] = acc += row[i];
  for (let k = 0; k < dst.length; k++) {
    const u = gen.random() * total;
    let lo = 0;
    let hi = row.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (cdf[mid] > u) hi = mid;
      else lo = mid + 1;
    }
    // cdf[lo] > u >= cdf[lo - 1], so row[lo] > 0: zero-weight categories are never chosen.
    dst[k] = lo;
  }
}

/**
 * Sequential draws without replacement (each pick proportional to the remaining weights),
 * done in one pass by the Efraimidis–Spirakis keys: the k largest of log(u_i) / w_i, in
 * decreasing order, have exactly that distribution.
 */
function drawWithoutReplacement(row: ArrayLike<number>, dst: Int32Array, gen: Generator): void {
  const keys: Array<[number, number]> = [];
  for (let i = 0; i < row.length; i++) {
    const u = gen.random();
    if (row[i] > 0) keys.push([Math.log(u > 0 ? u : Number.MIN_VALUE) / row[i], i]);
  }
  keys.sort((a, b) => b[0] - a[0] || a[1] - b[1]);
  for (let k = 0; k < dst.length; k++) dst[k] = keys[k][1];
}
