import { tf } from "../../tf.ts";
import { noGrad } from "../../autograd/grad_mode.ts";
import { getGrad, setGrad } from "../../autograd/grad_store.ts";

/**
 * `torch.nn.utils.clip_grad_norm_` / `clip_grad_value_`: rescale or clamp the parameters'
 * `grad` in place (the grad tensor is replaced; the old one is disposed). Parameters without a
 * gradient are ignored.
 */

export type ClipGradNormOptions = { errorIfNonfinite?: boolean };

/**
 * Scales all gradients together so that their joint `normType`-norm (the norm of the vector of
 * per-parameter norms) is at most `maxNorm`: each grad is multiplied by
 * min(1, maxNorm / (total + 1e-6)). Returns the total norm before clipping.
 * `normType` may be any p > 0, 0 (count of non-zeros), `Infinity` (max |g|) or `-Infinity`.
 */
export function clipGradNorm(
  parameters: tf.Variable | Iterable<tf.Variable>,
  maxNorm: number,
  normType: number | "inf" = 2,
  options: ClipGradNormOptions = {},
): number {
  const ord = normType === "inf" ? Infinity : Number(normType);
  if (Number.isNaN(ord)) throw new Error(`clipGradNorm: normType must be a number or "inf", got ${String(normType)}`);
  const grads = paramList(parameters, "clipGradNorm")
    .map((p) => [p, getGrad(p)] as const)
    .filter((e): e is readonly [tf.Variable, tf.Tensor] => e[1] != null);
  if (grads.length === 0) return 0;

  const total = noGrad(() => tf.tidy(() => vectorNorm(tf.stack(grads.map(([, g]) => vectorNorm(g, ord))), ord)));
  const totalNorm = total.dataSync()[0];
  total.dispose();
  if (options.errorIfNonfinite && !Number.isFinite(totalNorm)) {
    throw new Error(
      `The total norm of order ${ord} for gradients from \`parameters\` is non-finite, so it cannot be clipped. ` +
        "To disable this error and scale the gradients by the non-finite norm anyway, set `errorIfNonfinite: false`",
    );
  }
  // PyTorch computes the coefficient in float32 (a float32 tensor op); Math.fround mirrors it.
  // A NaN norm gives a NaN coefficient (Math.min passes NaN through, like torch.clamp).
  const coef = Math.min(Math.fround(maxNorm / Math.fround(totalNorm + Math.fround(1e-6))), 1);
  if (coef !== 1) {
    // Multiplying by exactly 1 (what torch does below the threshold) changes nothing: skipped.
    noGrad(() => {
      for (const [p, g] of grads)
        setGrad(
          p,
          tf.tidy(() => tf.mul(g, coef)),
        );
    });
  }
  return totalNorm;
}

/** Clamps every gradient element into [-clipValue, clipValue]. */
export function clipGradValue(parameters: tf.Variable | Iterable<tf.Variable>, clipValue: number): void {
  if (!(clipValue >= 0))
    throw new Error(`clipGradValue: clipValue must be a non-negative number, got ${String(clipValue)}`);
  noGrad(() => {
    for (const p of paramList(parameters, "clipGradValue")) {
      const g = getGrad(p);
      if (g != null)
        setGrad(
          p,
          tf.tidy(() => tf.clipByValue(g, -clipValue, clipValue)),
        );
    }
  });
}

/** PyTorch's `torch.linalg.vector_norm` of a whole tensor, as a scalar. */
function vectorNorm(x: tf.Tensor, ord: number): tf.Tensor {
  if (ord === Infinity) return tf.max(tf.abs(x));
  if (ord === -Infinity) return tf.min(tf.abs(x));
  if (ord === 0) return tf.sum(tf.cast(tf.notEqual(x, 0), "float32"));
  if (ord === 1) return tf.sum(tf.abs(x));
  if (ord === 2) return tf.sqrt(tf.sum(tf.square(x)));
  return tf.pow(tf.sum(tf.pow(tf.abs(x), ord)), 1 / ord);
}

function paramList(parameters: tf.Variable | Iterable<tf.Variable>, fn: string): tf.Variable[] {
  if (parameters instanceof tf.Tensor) return [parameters as tf.Variable];
  if (parameters == null || typeof (parameters as Iterable<unknown>)[Symbol.iterator] !== "function") {
    throw new TypeError(`${fn}: expected a parameter or an iterable of parameters (model.parameters())`);
  }
  return [...parameters];
}
