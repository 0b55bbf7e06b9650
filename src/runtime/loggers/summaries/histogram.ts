/**
 * Histogram summaries as `torch.utils.tensorboard` writes them with its default `bins="tensorflow"`
 * (`summary.histogram` → `make_histogram`): TensorFlow's bucket edges (±1e-12·1.1^k up to 1e20,
 * and 0), counts as numpy's `histogram` gives them (each bucket [left, right), the last one closed),
 * trimmed to the buckets that hold values plus one empty bucket on the left (TensorBoard reads
 * only right limits), with min, max, count, sum and sum of squares.
 */
import { tf } from "../../../torch/tf.ts";
import type { HistogramMessage } from "../event_protos.ts";

let defaultEdges: Float64Array | null = null;

/** TensorFlow's default histogram bucket edges, as PyTorch's `default_bins()` builds them. */
export function tensorflowBucketEdges(): Float64Array {
  if (defaultEdges) return defaultEdges;
  const positive: number[] = [];
  for (let v = 1e-12; v < 1e20; v *= 1.1) positive.push(v);
  defaultEdges = Float64Array.from([...positive.map((v) => -v).reverse(), 0, ...positive]);
  return defaultEdges;
}

export function histogramSummary(values: tf.Tensor | ArrayLike<number>): HistogramMessage {
  const data = values instanceof tf.Tensor ? values.dataSync() : values;
  const n = data.length;
  if (n === 0) throw new Error("The input has no element.");
  const edges = tensorflowBucketEdges();
  const counts = new Float64Array(edges.length - 1);
  let min = Infinity;
  let max = -Infinity;
  let sum = 0;
  let sumSquares = 0;
  const last = edges.length - 1;
  for (let i = 0; i < n; i++) {
    const v = Number(data[i]);
    if (v < min) min = v;
    if (v > max) max = v;
    sum += v;
    sumSquares += v * v;
    if (!(v >= edges[0]! && v <= edges[last]!)) continue; // outside the edges (or NaN): not counted, as numpy
    // the bucket [edges[k], edges[k+1]) holding v (the last bucket also holds its right edge)
    let lo = 0;
    let hi = last;
    while (hi - lo > 1) {
      const mid = (lo + hi) >> 1;
      if (v >= edges[mid]!) lo = mid;
      else hi = mid;
    }
    counts[lo]!++;
  }
  // first and last bucket holding a value
  const start = counts.findIndex((c) => c > 0);
  if (start === -1) throw new Error("The histogram is empty, please file a bug report.");
  let end = counts.length - 1;
  while (counts[end] === 0) end--;
  const bucket = start > 0 ? Array.from(counts.subarray(start - 1, end + 1)) : [0, ...Array.from(counts.subarray(0, end + 1))];
  const bucketLimit = Array.from(edges.subarray(start, end + 2));
  return { min, max, num: n, sum, sum_squares: sumSquares, bucket_limit: bucketLimit, bucket };
}
