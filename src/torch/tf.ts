// Kept in the published declarations (`preserve`): tfjs-core's own declarations use `Long`
// without referencing @types/long, so a project with `types: []` or `["node"]` would not find it.
/// <reference types="long" preserve="true" />
/**
 * The one tfjs-core instance every part of lightning-ts uses.
 *
 * tfjs-core's Node bundle registers neither the gradient functions nor the chained tensor
 * methods (`x.reshape(...)`). `vendor/tfjs_core_registrations.js` (built by scripts/build.mjs
 * from tfjs-core's own ESM files, as the `@tensorflow/tfjs` umbrella's Node bundle does) registers
 * both into the engine's global registries, so there is still one engine.
 */
// First: it wraps tfjs's random ops on tfjs-core's exports before anything can call them.
import "./tf_random_seeds.ts";
// tfjs-core's CommonJS exports themselves, with the pure-JS backend loaded (see the file: an ES
// import of tfjs-core costs ~0.3 s of start-up).
import tf from "./tfjs_core.cjs";
import type { TensorInfo } from "@tensorflow/tfjs-core";
import "./vendor/tfjs_core_registrations.js";
// Types only, and kept in the published declarations (an `import type {}` would be dropped): the
// chained-op methods (`Tensor.reshape`, …) that the vendor bundle registers at run time.
export type {} from "@tensorflow/tfjs-core/dist/public/chained_ops/register_all_chained_ops.js";

export { tf };
export type { Tensor, Variable, Rank } from "@tensorflow/tfjs-core";

/** The engine with the members tfjs marks private but that autograd needs. */
export interface EngineInternals {
  state: {
    activeTape: TapeNode[] | null;
    gradientDepth: number;
    kernelDepth: number;
    activeScope: { id: number; track: tf.Tensor[]; name: string } | null;
    scopeStack: unknown[];
    registeredVariables: Record<string, tf.Variable>;
    numTensors: number;
  };
  runKernelFunc(params: KernelParams): tf.Tensor | tf.Tensor[];
  addTapeNode(
    kernelName: string,
    inputs: Record<string, tf.Tensor>,
    outputs: tf.Tensor[],
    gradientsFunc: unknown,
    saved: tf.Tensor[],
    attrs: unknown,
  ): void;
  gradients(...args: unknown[]): unknown;
  track<T extends tf.Tensor>(t: T): T;
  keep<T extends tf.Tensor>(t: T): T;
  clone(t: tf.Tensor): tf.Tensor;
  saveTensorsForBackwardMode(tensors: tf.Tensor[]): tf.Tensor[];
  makeTensorFromTensorInfo(info: TensorInfo): tf.Tensor;
  backend: object;
  backendName: string;
}

export interface KernelParams {
  kernelName?: string;
  inputs: Record<string, tf.Tensor> | tf.Tensor[];
  attrs?: unknown;
}

export interface TapeNode {
  id: number;
  kernelName: string;
  inputs: Record<string, tf.Tensor>;
  outputs: tf.Tensor[];
  saved: tf.Tensor[];
  gradient?: (dys: tf.Tensor[]) => Record<string, () => tf.Tensor>;
}

export function engineInternals(): EngineInternals {
  return tf.engine() as unknown as EngineInternals;
}
