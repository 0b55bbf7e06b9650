import { tf } from "../../tf.ts";
import { Module } from "../module.ts";

// `@tensorflow/tfjs-layers` is an optional peer (31 MB installed, and most scripts never use
// it): what this file reads of its models is typed here, structurally, so that neither the
// code nor the published declarations need the package. A real `tf.sequential()` /
// `tf.model()` satisfies these types.

/** A weight of a tfjs-layers layer (`LayerVariable`). */
export interface LayersWeight {
  readonly originalName: string;
  trainable: boolean;
  read(): tf.Tensor;
}

/** A tfjs-layers layer, as far as `fromLayers` reads it. */
export interface LayersLayer {
  readonly name: string;
  readonly built: boolean;
  readonly weights: LayersWeight[];
  getClassName(): string;
}

/** A tfjs-layers model (`tf.LayersModel` / `tf.Sequential`), as far as `fromLayers` uses it. */
export interface LayersModelLike extends LayersLayer {
  readonly layers: LayersLayer[];
  apply(inputs: tf.Tensor | tf.Tensor[], kwargs?: { training?: boolean }): unknown;
  build(inputShape?: unknown): void;
}

/** What tfjs-layers keeps on each layer (public in JS, not all in the typings). */
interface LayerInternals {
  name: string;
  layers?: LayersLayer[];
  _nonTrainableWeights?: LayersWeight[];
}

interface Found {
  name: string;
  variable: tf.Variable;
  buffer: boolean;
}

/**
 * Walks a (possibly nested) tfjs-layers model and names each weight `<layer index path>.<short
 * name>` (`0.kernel`, `1.bias`, `2.0.gamma` for a model nested as layer 2): stable across
 * processes, unlike tfjs's auto-numbered weight names. Weights a layer declares non-trainable
 * (batch-norm moving statistics) become buffers; trainable ones, frozen or not, parameters.
 */
function collect(layers: LayersLayer[], prefix: string, out: Found[]): void {
  layers.forEach((layer, i) => {
    const path = prefix ? `${prefix}.${i}` : String(i);
    const l = layer as unknown as LayerInternals;
    if (Array.isArray(l.layers) && l.layers.length > 0) {
      collect(l.layers, path, out);
      return;
    }
    const nonTrainable = new Set(l._nonTrainableWeights ?? []);
    const used = new Set<string>();
    for (const w of layer.weights) {
      let short = w.originalName.split("/").pop() || w.originalName;
      if (used.has(short)) short = w.originalName.replace(/\//g, "_");
      used.add(short);
      out.push({ name: `${path}.${short}`, variable: w.read() as tf.Variable, buffer: nonTrainable.has(w) });
    }
  });
}

/**
 * A `@tensorflow/tfjs-layers` model as an `nn.Module`. Its parameters are the model's own
 * variables (not copies), so `loss.backward()` fills their `grad`, an `optim` optimizer updates
 * the model in place, and `stateDict()` / `loadStateDict()` read and write it. `forward`
 * calls `model.apply(x, { training })`, following `train()` / `eval()`.
 */
export class LayersModule extends Module {
  readonly #model: LayersModelLike;

  constructor(model: LayersModelLike) {
    super();
    if (!model || typeof (model as { apply?: unknown }).apply !== "function" || !Array.isArray(model.layers)) {
      throw new Error("nn.fromLayers(): expected a tfjs-layers model (tf.sequential() / tf.model())");
    }
    if (model.layers.length === 0) throw new Error("nn.fromLayers(): the model has no layers");
    // A Sequential given an inputShape builds its layers on add() but stays `built: false`
    // until compiled, so look at the layers themselves.
    if (model.layers.some((l) => !l.built)) {
      throw new Error(
        "nn.fromLayers(): the model has no weights yet: give its first layer an inputShape or call model.build(shape) first",
      );
    }
    this.#model = model;
    if (!model.built && model.getClassName() === "Sequential") {
      // A Sequential builds its inner model lazily on first use, and that build marks every
      // weight trainable again (`model.trainable = this.trainable`). Build now, keeping the
      // user's frozen layers frozen, so trainable flags are settled before training starts.
      const weights = model.layers.flatMap((l) => l.weights);
      const flags = weights.map((w) => w.trainable);
      model.build();
      weights.forEach((w, i) => (w.trainable = flags[i]));
    }
    const found: Found[] = [];
    collect(model.layers, "", found);
    const self = this as unknown as Record<string, unknown>;
    for (const f of found) {
      if (f.buffer) this.registerBuffer(f.name, f.variable);
      else self[f.name] = f.variable;
    }
  }

  /** The wrapped tfjs-layers model. */
  get layersModel(): LayersModelLike {
    return this.#model;
  }

  override forward(x: tf.Tensor): tf.Tensor;
  override forward(...inputs: tf.Tensor[]): tf.Tensor | tf.Tensor[];
  override forward(...inputs: tf.Tensor[]): tf.Tensor | tf.Tensor[] {
    const arg = inputs.length === 1 ? inputs[0] : inputs;
    return this.#model.apply(arg, { training: this.training }) as tf.Tensor | tf.Tensor[];
  }

  override extraRepr(): string {
    return `${this.#model.name}: ${this.#model.layers.map((l) => l.getClassName()).join(", ")}`;
  }
}

/** `nn.fromLayers(model)`: wraps a tfjs-layers model as a Module (see `LayersModule`). */
export function fromLayers(model: LayersModelLike): LayersModule {
  return new LayersModule(model);
}
