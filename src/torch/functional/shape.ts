import { tf } from "../tf.ts";
import { normDim, shapeStr } from "./_util.ts";

/** `torch.flatten`: merges dims startDim..endDim (inclusive) into one. */
export function flatten(x: tf.Tensor, startDim = 0, endDim = -1): tf.Tensor {
  if (x.rank === 0) return tf.reshape(x, [1]);
  const s = normDim(startDim, x.rank, "flatten()");
  const e = normDim(endDim, x.rank, "flatten()");
  if (s > e)
    throw new Error(
      `flatten(): startDim (${startDim}) cannot come after endDim (${endDim}) for input of shape ${shapeStr(x.shape)}`,
    );
  if (s === e) return x;
  const merged = x.shape.slice(s, e + 1).reduce((a, b) => a * b, 1);
  return tf.reshape(x, [...x.shape.slice(0, s), merged, ...x.shape.slice(e + 1)]);
}

/** `torch.unflatten`: splits dimension `dim` into `sizes` (one entry may be -1). */
export function unflatten(x: tf.Tensor, dim: number, sizes: number[]): tf.Tensor {
  const d = normDim(dim, x.rank, "unflatten()");
  return tf.reshape(x, [...x.shape.slice(0, d), ...sizes, ...x.shape.slice(d + 1)]);
}

/**
 * `F.one_hot`: int32 class indices of any shape to int32 one-hot vectors in a new last
 * dimension. `numClasses = -1` infers max + 1 from the data (a read back, as in PyTorch).
 */
export function oneHot(x: tf.Tensor, numClasses = -1): tf.Tensor {
  if (x.dtype !== "int32") throw new Error(`oneHot(): class values must be an int32 tensor, got ${x.dtype}`);
  const values = x.size > 0 ? x.dataSync() : new Int32Array(0);
  let max = -1;
  for (let i = 0; i < values.length; i++) {
    if (values[i] < 0) throw new Error("oneHot(): class values must be non-negative");
    if (values[i] > max) max = values[i];
  }
  const depth = numClasses === -1 ? max + 1 : numClasses;
  if (max >= depth) throw new Error(`oneHot(): class values must be smaller than numClasses (${depth}), got ${max}`);
  return tf.tidy(() => tf.reshape(tf.oneHot(tf.reshape(x, [-1]), depth, 1, 0, "int32"), [...x.shape, depth]));
}

export type PadMode = "constant" | "reflect" | "replicate" | "circular";

export interface PadOptions {
  mode?: PadMode;
  /** Fill value for "constant" (default 0). */
  value?: number;
}

/**
 * `F.pad`. `pad` lists (before, after) pairs starting from the LAST dimension, as in PyTorch:
 * `[left, right]` pads the last dim, `[left, right, top, bottom]` the last two.
 */
export function pad(x: tf.Tensor, padding: number[], options: PadOptions = {}): tf.Tensor {
  const { mode = "constant", value = 0 } = options;
  if (padding.length % 2 !== 0 || padding.length / 2 > x.rank) {
    throw new Error(`pad(): padding length must be even and at most 2 * rank (${2 * x.rank}), got ${padding.length}`);
  }
  if (!padding.every((p) => Number.isInteger(p) && p >= 0)) {
    throw new Error(`pad(): padding sizes must be non-negative integers, got ${JSON.stringify(padding)}`);
  }
  const pairs: Array<[number, number]> = x.shape.map(() => [0, 0]);
  for (let i = 0; i < padding.length / 2; i++) pairs[x.rank - 1 - i] = [padding[2 * i], padding[2 * i + 1]];
  switch (mode) {
    case "constant":
      return tf.pad(x, pairs, value);
    case "reflect":
      pairs.forEach(([a, b], d) => {
        if (a >= x.shape[d] || b >= x.shape[d]) {
          throw new Error(
            `pad(): reflect padding (${a}, ${b}) must be smaller than dimension ${d} of size ${x.shape[d]}`,
          );
        }
      });
      // tfjs's MirrorPad gradient only slices the middle of dy, dropping what flowed through the
      // reflected borders; slices + reverse (below) differentiate correctly.
      return slicePad(x, pairs, mode);
    case "replicate":
    case "circular":
      return slicePad(x, pairs, mode);
    default:
      throw new Error(`pad(): mode must be "constant", "reflect", "replicate" or "circular", got "${mode as string}"`);
  }
}

/** Non-constant padding built from slices (reflect, replicate, circular), one dim at a time. */
function slicePad(x: tf.Tensor, pairs: Array<[number, number]>, mode: "reflect" | "replicate" | "circular"): tf.Tensor {
  return tf.tidy(() => {
    let y = x;
    pairs.forEach(([a, b], d) => {
      if (a === 0 && b === 0) return;
      const n = y.shape[d];
      if (mode === "circular" && (a > n || b > n)) {
        throw new Error(`pad(): circular padding (${a}, ${b}) must be at most dimension ${d}'s size ${n}`);
      }
      const take = (start: number, size: number) => {
        const begin = y.shape.map(() => 0);
        const sz = y.shape.map(() => -1);
        begin[d] = start;
        sz[d] = size;
        return tf.slice(y, begin, sz);
      };
      const reps = (t: tf.Tensor, k: number) => {
        const r = y.shape.map(() => 1);
        r[d] = k;
        return tf.tile(t, r);
      };
      const parts: tf.Tensor[] = [];
      if (mode === "reflect") {
        if (a > 0) parts.push(tf.reverse(take(1, a), d));
        parts.push(y);
        if (b > 0) parts.push(tf.reverse(take(n - 1 - b, b), d));
      } else {
        if (a > 0) parts.push(mode === "replicate" ? reps(take(0, 1), a) : take(n - a, a));
        parts.push(y);
        if (b > 0) parts.push(mode === "replicate" ? reps(take(n - 1, 1), b) : take(0, b));
      }
      y = tf.concat(parts, d);
    });
    return y;
  });
}
