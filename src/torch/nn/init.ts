import { tf } from "../tf.ts";
import { streams, type Generator } from "../random.ts";

/**
 * `torch.nn.init`. Each `*_` function fills a parameter in place (tfjs variables are assigned)
 * and returns it. Random values are drawn in JS from the parameter-initialisation stream
 * (`streams.init`, seeded by `manualSeed`) unless a `generator` is given, so initialisation is
 * reproducible and independent of data shuffling and dropout.
 */

export type Nonlinearity =
  | "linear"
  | "conv1d"
  | "conv2d"
  | "conv3d"
  | "conv_transpose1d"
  | "conv_transpose2d"
  | "conv_transpose3d"
  | "sigmoid"
  | "tanh"
  | "relu"
  | "leaky_relu"
  | "selu";

export type FanMode = "fan_in" | "fan_out";

/** The recommended gain for a nonlinearity (PyTorch's table). */
export function calculateGain(nonlinearity: Nonlinearity, param?: number): number {
  switch (nonlinearity) {
    case "linear":
    case "conv1d":
    case "conv2d":
    case "conv3d":
    case "conv_transpose1d":
    case "conv_transpose2d":
    case "conv_transpose3d":
    case "sigmoid":
      return 1;
    case "tanh":
      return 5 / 3;
    case "relu":
      return Math.SQRT2;
    case "leaky_relu": {
      const slope = param ?? 0.01;
      if (typeof slope !== "number" || Number.isNaN(slope))
        throw new Error(`calculateGain(): negative_slope ${slope} is not a valid number`);
      return Math.sqrt(2 / (1 + slope * slope));
    }
    case "selu":
      return 3 / 4;
    default:
      throw new Error(`calculateGain(): unsupported nonlinearity "${nonlinearity as string}"`);
  }
}

/**
 * (fan_in, fan_out) of a weight: dim 1 and dim 0 times the receptive field (the product of
 * the remaining dims), e.g. [out, in] -> (in, out), [out, in, kh, kw] -> (in kh kw, out kh kw).
 */
export function _calculateFanInAndFanOut(tensor: tf.Tensor | readonly number[]): [number, number] {
  const shape = Array.isArray(tensor) ? (tensor as number[]) : (tensor as tf.Tensor).shape;
  if (shape.length < 2) {
    throw new Error(
      `Fan in and fan out can not be computed for tensor with fewer than 2 dimensions (shape [${shape.join(", ")}])`,
    );
  }
  const receptive = shape.slice(2).reduce((a, b) => a * b, 1);
  return [shape[1] * receptive, shape[0] * receptive];
}

export { _calculateFanInAndFanOut as calculateFanInAndFanOut };

function fanFor(tensor: tf.Tensor, mode: FanMode): number {
  if (mode !== "fan_in" && mode !== "fan_out")
    throw new Error(`mode ${mode as string} not supported, please use one of "fan_in", "fan_out"`);
  const [fanIn, fanOut] = _calculateFanInAndFanOut(tensor);
  return mode === "fan_in" ? fanIn : fanOut;
}

function asVariable(t: tf.Tensor, fn: string): tf.Variable {
  if (!(t instanceof tf.Variable)) {
    throw new Error(`nn.init.${fn}(): expected a tf.Variable (a parameter) to fill in place, got a plain tensor`);
  }
  return t;
}

/** Assigns `fill(i)` for every element (tensor values generated in JS, then uploaded once). */
function fillWith(t: tf.Tensor, fn: string, fill: (i: number) => number): tf.Variable {
  const v = asVariable(t, fn);
  const values = new Float32Array(v.size);
  for (let i = 0; i < values.length; i++) values[i] = fill(i);
  const next = tf.tensor(values, v.shape, "float32");
  v.assign(v.dtype === "float32" ? next : tf.cast(next, v.dtype));
  next.dispose();
  return v;
}

export interface RandomInitOptions {
  /** Draw from this generator instead of the parameter-initialisation stream. */
  generator?: Generator;
}

export interface UniformOptions extends RandomInitOptions {
  a?: number;
  b?: number;
}

/** U(a, b), default U(0, 1). Also `uniform_(w, a, b)` positionally, as in PyTorch. */
export function uniform_(tensor: tf.Tensor, a: number | UniformOptions = {}, b?: number): tf.Variable {
  const o: UniformOptions = typeof a === "number" ? { a, b } : a;
  const lo = o.a ?? 0;
  const hi = o.b ?? 1;
  const g = o.generator ?? streams.init;
  return fillWith(tensor, "uniform_", () => g.uniform(lo, hi));
}

export interface NormalOptions extends RandomInitOptions {
  mean?: number;
  std?: number;
}

/** N(mean, std^2), default N(0, 1). Also `normal_(w, mean, std)` positionally. */
export function normal_(tensor: tf.Tensor, mean: number | NormalOptions = {}, std?: number): tf.Variable {
  const o: NormalOptions = typeof mean === "number" ? { mean, std } : mean;
  const m = o.mean ?? 0;
  const s = o.std ?? 1;
  const g = o.generator ?? streams.init;
  return fillWith(tensor, "normal_", () => m + s * g.normal());
}

export interface TruncNormalOptions extends NormalOptions {
  a?: number;
  b?: number;
}

/** N(mean, std^2) restricted to [a, b] (default [-2, 2]) by rejection. */
export function truncNormal_(tensor: tf.Tensor, options: TruncNormalOptions = {}): tf.Variable {
  const { mean = 0, std = 1, a = -2, b = 2 } = options;
  if (!(a < b)) throw new Error(`truncNormal_(): need a < b, got a=${a}, b=${b}`);
  const g = options.generator ?? streams.init;
  return fillWith(tensor, "truncNormal_", () => {
    for (let tries = 0; tries < 10000; tries++) {
      const v = mean + std * g.normal();
      if (v >= a && v <= b) return v;
    }
    throw new Error(`truncNormal_(): [${a}, ${b}] is too far from N(${mean}, ${std}^2) to sample by rejection`);
  });
}

export function constant_(tensor: tf.Tensor, value: number): tf.Variable {
  return fillWith(tensor, "constant_", () => value);
}

export function zeros_(tensor: tf.Tensor): tf.Variable {
  return constant_(tensor, 0);
}

export function ones_(tensor: tf.Tensor): tf.Variable {
  return constant_(tensor, 1);
}

/** The identity matrix for a 2-D weight (ones on the diagonal of [rows, cols]). */
export function eye_(tensor: tf.Tensor): tf.Variable {
  if (tensor.rank !== 2)
    throw new Error(`eye_(): only 2-D tensors are supported, got shape [${tensor.shape.join(", ")}]`);
  const cols = (tensor.shape as number[])[1];
  return fillWith(tensor, "eye_", (i) => (Math.floor(i / cols) === i % cols ? 1 : 0));
}

export interface XavierOptions extends RandomInitOptions {
  gain?: number;
}

/** Glorot uniform: U(-a, a) with a = gain * sqrt(6 / (fan_in + fan_out)). */
export function xavierUniform_(tensor: tf.Tensor, options: XavierOptions | number = {}): tf.Variable {
  const o = typeof options === "number" ? { gain: options } : options;
  const [fanIn, fanOut] = _calculateFanInAndFanOut(tensor);
  const std = (o.gain ?? 1) * Math.sqrt(2 / (fanIn + fanOut));
  const bound = Math.sqrt(3) * std;
  return uniform_(tensor, { a: -bound, b: bound, generator: o.generator });
}

/** Glorot normal: N(0, std^2) with std = gain * sqrt(2 / (fan_in + fan_out)). */
export function xavierNormal_(tensor: tf.Tensor, options: XavierOptions | number = {}): tf.Variable {
  const o = typeof options === "number" ? { gain: options } : options;
  const [fanIn, fanOut] = _calculateFanInAndFanOut(tensor);
  const std = (o.gain ?? 1) * Math.sqrt(2 / (fanIn + fanOut));
  return normal_(tensor, { mean: 0, std, generator: o.generator });
}

export interface KaimingOptions extends RandomInitOptions {
  /** Negative slope of the following leaky ReLU (only used with "leaky_relu"). */
  a?: number;
  mode?: FanMode;
  nonlinearity?: Nonlinearity;
}

function kaimingStd(tensor: tf.Tensor, o: KaimingOptions): number {
  const fan = fanFor(tensor, o.mode ?? "fan_in");
  const gain = calculateGain(o.nonlinearity ?? "leaky_relu", o.a ?? 0);
  return gain / Math.sqrt(fan);
}

/**
 * He uniform: U(-bound, bound) with bound = gain * sqrt(3 / fan). PyTorch's Linear/Conv default
 * is `kaimingUniform_(w, { a: Math.sqrt(5) })`, i.e. bound = 1 / sqrt(fan_in).
 */
export function kaimingUniform_(tensor: tf.Tensor, options: KaimingOptions | number = {}): tf.Variable {
  const o = typeof options === "number" ? { a: options } : options;
  const bound = Math.sqrt(3) * kaimingStd(tensor, o);
  return uniform_(tensor, { a: -bound, b: bound, generator: o.generator });
}

/** He normal: N(0, std^2) with std = gain / sqrt(fan). */
export function kaimingNormal_(tensor: tf.Tensor, options: KaimingOptions | number = {}): tf.Variable {
  const o = typeof options === "number" ? { a: options } : options;
  return normal_(tensor, { mean: 0, std: kaimingStd(tensor, o), generator: o.generator });
}

export { orthogonal_, type OrthogonalOptions } from "./init_orthogonal.ts";
