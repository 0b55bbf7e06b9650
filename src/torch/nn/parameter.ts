import { tf } from "../tf.ts";

/**
 * `nn.Parameter(tensor, requiresGrad = true)`: a parameter is a `tf.Variable` (trainable =
 * requires grad), so this returns one. It works with or without `new`, and `instanceof
 * nn.Parameter` is true for any variable, so PyTorch code that checks it keeps working.
 */
export interface ParameterConstructor {
  new (data: tf.Tensor, requiresGrad?: boolean): tf.Variable;
  (data: tf.Tensor, requiresGrad?: boolean): tf.Variable;
  readonly prototype: tf.Variable;
}

function makeParameter(data: tf.Tensor, requiresGrad = true): tf.Variable {
  if (!(data instanceof tf.Tensor)) throw new Error("nn.Parameter(): expected a tf.Tensor");
  if (requiresGrad && data.dtype !== "float32") {
    throw new Error(`nn.Parameter(): only float32 tensors can require gradients, got ${data.dtype}`);
  }
  // The variable shares the tensor's storage until either is reassigned (tfjs refcounts it).
  return tf.variable(data, requiresGrad);
}

export const Parameter = makeParameter as unknown as ParameterConstructor;
Object.defineProperty(Parameter, Symbol.hasInstance, {
  value: (x: unknown) => x instanceof tf.Variable,
});
Object.defineProperty(Parameter, "prototype", { value: tf.Variable.prototype });

export type Parameter = tf.Variable;

/** A trainable float32 variable holding `values` (parameter construction in the layers). */
export function parameterFrom(values: Float32Array, shape: number[], requiresGrad = true): tf.Variable {
  const t = tf.tensor(values, shape, "float32");
  const v = tf.variable(t, requiresGrad);
  t.dispose();
  return v;
}

/** A zero-filled trainable parameter, to be filled by an `nn.init` function. */
export function emptyParameter(shape: number[]): tf.Variable {
  return parameterFrom(new Float32Array(shape.reduce((a, b) => a * b, 1)), shape);
}

/** A non-trainable variable for `registerBuffer`, without leaking the initial tensor. */
export function bufferFrom(t: tf.Tensor): tf.Variable {
  const v = tf.variable(t, false);
  t.dispose();
  return v;
}
