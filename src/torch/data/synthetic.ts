import { tf } from "../tf.ts";
import { Generator } from "../random.ts";
import { TensorDataset } from "./dataset.ts";

export interface SyntheticClassificationOptions {
  numSamples: number;
  numFeatures: number;
  numClasses: number;
  /** Seed of the data (default 0): the same options always give the same dataset. */
  seed?: number;
  /** Standard deviation of the class centres around the origin (default 2); noise is unit. */
  classSep?: number;
}

/**
 * A deterministic, learnable classification set for tests and benchmarks: Gaussian clusters.
 * Each class c has a centre drawn from N(0, classSep² I); sample i has label i mod numClasses
 * (so classes are balanced and every batch of a sequential loader mixes them) and features
 * centre[label] + N(0, I). Items are `[float32 [numFeatures], int32 label]`.
 *
 * It draws from a generator of its own (`seed`), never from the data stream, so creating one
 * does not move any shuffle order.
 */
export class SyntheticClassification extends TensorDataset<[tf.Tensor2D, tf.Tensor1D]> {
  readonly numClasses: number;
  readonly numFeatures: number;
  /** Class centres, [numClasses][numFeatures]. */
  readonly centers: readonly Float32Array[];

  constructor(options: SyntheticClassificationOptions) {
    const { numSamples, numFeatures, numClasses, seed = 0, classSep = 2 } = options;
    for (const [k, v] of Object.entries({ numSamples, numFeatures, numClasses })) {
      if (!Number.isInteger(v) || v <= 0) throw new Error(`SyntheticClassification: ${k} must be a positive integer, got ${v}`);
    }
    if (!(classSep >= 0)) throw new Error(`SyntheticClassification: classSep must be >= 0, got ${classSep}`);
    const gen = new Generator(seed);
    const centers = Array.from({ length: numClasses }, () => {
      const c = new Float32Array(numFeatures);
      for (let f = 0; f < numFeatures; f++) c[f] = classSep * gen.normal();
      return c;
    });
    const x = new Float32Array(numSamples * numFeatures);
    const y = new Int32Array(numSamples);
    for (let i = 0; i < numSamples; i++) {
      const label = i % numClasses;
      y[i] = label;
      const c = centers[label];
      for (let f = 0; f < numFeatures; f++) x[i * numFeatures + f] = c[f] + gen.normal();
    }
    super(tf.tensor2d(x, [numSamples, numFeatures], "float32"), tf.tensor1d(y, "int32"));
    this.numClasses = numClasses;
    this.numFeatures = numFeatures;
    this.centers = centers;
  }
}
