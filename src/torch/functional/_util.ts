import { tf } from "../tf.ts";
import { noGrad } from "../autograd/grad_mode.ts";

/**
 * Small helpers shared by the functional ops: PyTorch-style dimension handling, int-or-pair
 * arguments and loss reductions.
 */

export type Reduction = "mean" | "sum" | "none";

/** A PyTorch `int or (int, int)` argument. */
export type IntPair = number | [number, number] | readonly [number, number];

export function pair(v: IntPair, what: string): [number, number] {
  const p: [number, number] = typeof v === "number" ? [v, v] : [v[0], v[1]];
  if (p.length !== 2 || !p.every((n) => Number.isInteger(n))) {
    throw new Error(`${what} must be an integer or a pair of integers, got ${JSON.stringify(v)}`);
  }
  return p;
}

/** Resolves a possibly negative `dim` against `rank`, with PyTorch's error message. */
export function normDim(dim: number, rank: number, fn: string): number {
  const r = Math.max(rank, 1);
  if (!Number.isInteger(dim) || dim < -r || dim >= r) {
    throw new Error(`${fn}: dimension out of range (expected to be in range of [${-r}, ${r - 1}], but got ${dim})`);
  }
  return dim < 0 ? dim + r : dim;
}

export function shapeStr(shape: readonly number[]): string {
  return `[${shape.join(", ")}]`;
}

export function checkReduction(reduction: string, fn: string, extra: string[] = []): void {
  const allowed = ["mean", "sum", "none", ...extra];
  if (!allowed.includes(reduction)) {
    throw new Error(`${fn}: reduction must be one of ${allowed.map((r) => `"${r}"`).join(", ")}, got "${reduction}"`);
  }
}

/** Applies a "mean" | "sum" | "none" reduction to element-wise losses. */
export function reduce(loss: tf.Tensor, reduction: Reduction): tf.Tensor {
  if (reduction === "none") return loss;
  return reduction === "sum" ? tf.sum(loss) : tf.mean(loss);
}

/**
 * Whether reading a small tensor back to JS is cheap (its data already lives in CPU memory).
 * Target validation that needs the values runs only there, never forcing a GPU sync.
 */
export function cheapToRead(): boolean {
  const b = tf.getBackend();
  return b === "cpu" || b === "wasm" || b === "tensorflow";
}

const warned = new Set<string>();

/** A warning printed once per process and message, like Python's default warning filter. */
export function warnOnce(message: string): void {
  if (warned.has(message)) return;
  warned.add(message);
  process.emitWarning(message, "UserWarning");
}

/**
 * Computes a comparison mask (bool) off our tape: comparisons have no gradient, and recording
 * them would only save tensors. Masks over differentiable inputs use `greaterEqual` (with the
 * operands or the `where` branches swapped as needed) because it is the one comparison with a
 * registered (zero) gradient, so `tf.grad` / `tf.variableGrads` also differentiate through it.
 */
export function mask(fn: () => tf.Tensor): tf.Tensor {
  return noGrad(fn);
}
