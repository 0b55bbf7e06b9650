import { Generator, streams } from "../random.ts";
import { Subset, type Dataset } from "./dataset.ts";

/**
 * Splits a dataset into non-overlapping random subsets (`torch.utils.data.random_split`), with
 * torch's algorithm: `lengths` are item counts summing to the dataset's length, or fractions
 * summing to 1 (each split gets floor(n × fraction), then the remainder is dealt one item at a
 * time round-robin from the first split); one permutation of all indices is then cut into
 * consecutive slices.
 *
 * `generator`: a Generator or a seed; default: the data stream (`manualSeed` controls it).
 */
export function randomSplit<T>(
  dataset: Dataset<T>,
  lengths: readonly number[],
  generator?: Generator | number,
): Subset<T>[] {
  const n = dataset.length;
  let sizes = [...lengths];
  const sum = sizes.reduce((a, b) => a + b, 0);
  // Python's math.isclose(sum, 1) (rel_tol 1e-9) and sum <= 1: the lengths are fractions.
  if (Math.abs(sum - 1) <= 1e-9 * Math.max(Math.abs(sum), 1) && sum <= 1) {
    sizes = sizes.map((frac, i) => {
      if (!(frac >= 0 && frac <= 1)) throw new Error(`randomSplit: fraction at index ${i} is not between 0 and 1`);
      return Math.floor(n * frac);
    });
    const remainder = n - sizes.reduce((a, b) => a + b, 0);
    for (let i = 0; i < remainder; i++) sizes[i % sizes.length] += 1;
    sizes.forEach((len, i) => {
      if (len === 0) {
        process.emitWarning(`randomSplit: length of split at index ${i} is 0. This might result in an empty dataset.`);
      }
    });
  }
  sizes.forEach((len, i) => {
    if (!Number.isInteger(len) || len < 0) {
      throw new Error(`randomSplit: length at index ${i} must be a non-negative integer or a fraction, got ${len}`);
    }
  });
  const total = sizes.reduce((a, b) => a + b, 0);
  if (total !== n) {
    throw new Error(
      `randomSplit: sum of input lengths (${total}) does not equal the length of the input dataset (${n})`,
    );
  }
  const gen =
    generator instanceof Generator
      ? generator
      : typeof generator === "number"
        ? new Generator(Math.floor(Math.abs(generator)))
        : streams.data;
  const perm = gen.randperm(total);
  const out: Subset<T>[] = [];
  let offset = 0;
  for (const len of sizes) {
    out.push(new Subset(dataset, perm.slice(offset, offset + len)));
    offset += len;
  }
  return out;
}
