import { tf } from "../../tf.ts";
import { Module } from "../module.ts";
import { noGrad } from "../../autograd/grad_mode.ts";
import { emptyParameter } from "../parameter.ts";
import * as init from "../init.ts";
import { embedding } from "../../functional/embedding.ts";
import { shapeStr } from "./_util.ts";

export interface EmbeddingLayerOptions {
  /** This row starts at zero and never receives a gradient (e.g. the padding token). */
  paddingIdx?: number | null;
  /** Initial table [num, dim] used as is (PyTorch's `_weight`): no random draw. */
  _weight?: tf.Tensor;
}

export interface FromPretrainedOptions extends EmbeddingLayerOptions {
  /** Do not train the table (default true, as in PyTorch). */
  freeze?: boolean;
}

/**
 * `nn.Embedding(numEmbeddings, embeddingDim)`: a lookup table, weight [num, dim] initialised
 * N(0, 1) (the `paddingIdx` row zeroed), indexed by int32 ids of any shape.
 */
export class Embedding extends Module {
  weight: tf.Variable;
  readonly numEmbeddings: number;
  readonly embeddingDim: number;
  readonly paddingIdx: number | null;

  constructor(numEmbeddings: number, embeddingDim: number, options: EmbeddingLayerOptions = {}) {
    super();
    if (!Number.isInteger(numEmbeddings) || numEmbeddings < 1 || !Number.isInteger(embeddingDim) || embeddingDim < 1) {
      throw new Error(
        `Embedding: numEmbeddings and embeddingDim must be positive integers, got ${numEmbeddings}, ${embeddingDim}`,
      );
    }
    this.numEmbeddings = numEmbeddings;
    this.embeddingDim = embeddingDim;
    let p = options.paddingIdx ?? null;
    if (p != null) {
      if (!Number.isInteger(p) || p < -numEmbeddings || p >= numEmbeddings) {
        throw new Error(`Embedding: paddingIdx must be within numEmbeddings (${numEmbeddings}), got ${p}`);
      }
      if (p < 0) p += numEmbeddings;
    }
    this.paddingIdx = p;
    const w = options._weight;
    if (w) {
      if (!tf.util.arraysEqual(w.shape, [numEmbeddings, embeddingDim])) {
        throw new Error(
          `Embedding: _weight must have shape [${numEmbeddings}, ${embeddingDim}], got ${shapeStr(w.shape)}`,
        );
      }
      this.weight = tf.variable(w.dtype === "float32" ? w : tf.cast(w, "float32"), true);
    } else {
      this.weight = emptyParameter([numEmbeddings, embeddingDim]);
      this.resetParameters();
    }
  }

  /** A table holding `embeddings` ([num, dim]); frozen unless `freeze: false`. */
  static fromPretrained(embeddings: tf.Tensor, options: FromPretrainedOptions = {}): Embedding {
    if (embeddings.rank !== 2)
      throw new Error(
        `Embedding.fromPretrained(): embeddings must be 2-D [num, dim], got ${shapeStr(embeddings.shape)}`,
      );
    const [num, dim] = embeddings.shape as number[];
    const e = new Embedding(num, dim, { paddingIdx: options.paddingIdx, _weight: embeddings });
    (e.weight as unknown as { trainable: boolean }).trainable = !(options.freeze ?? true);
    return e;
  }

  resetParameters(): void {
    init.normal_(this.weight);
    if (this.paddingIdx != null) {
      const pad = this.paddingIdx;
      // Zero the padding row (a select, not a multiply, so the zeros are +0).
      noGrad(() =>
        tf.tidy(() => {
          const isPad = tf.reshape(tf.equal(tf.range(0, this.numEmbeddings, 1, "int32"), pad), [-1, 1]);
          this.weight.assign(
            tf.where(tf.broadcastTo(isPad, this.weight.shape), tf.zerosLike(this.weight), this.weight),
          );
        }),
      );
    }
  }

  override forward(indices: tf.Tensor): tf.Tensor {
    return embedding(indices, this.weight, { paddingIdx: this.paddingIdx });
  }

  override extraRepr(): string {
    return `${this.numEmbeddings}, ${this.embeddingDim}${this.paddingIdx != null ? `, padding_idx=${this.paddingIdx}` : ""}`;
  }
}
