import { tf } from "../../tf.ts";
import { Module } from "../module.ts";
import { deepCopyModule } from "../deepcopy.ts";
import { MultiheadAttention } from "./attention.ts";
import { Linear } from "./linear.ts";
import { Dropout } from "./dropout.ts";
import { LayerNorm } from "./layernorm.ts";
import { ModuleList } from "./container.ts";
import { relu, gelu } from "../../functional/activation.ts";

export type TransformerActivation = "relu" | "gelu" | ((x: tf.Tensor) => tf.Tensor);

export interface TransformerEncoderLayerOptions {
  /** Hidden size of the feed-forward block (default 2048). */
  dimFeedforward?: number;
  /** Dropout after attention, inside and after the feed-forward block (default 0.1). */
  dropout?: number;
  /** "relu" (default), "gelu" (exact erf form) or a function. */
  activation?: TransformerActivation;
  layerNormEps?: number;
  /** Inputs and outputs are [N, L, E] instead of [L, N, E] (default false). */
  batchFirst?: boolean;
  /** Pre-norm (LayerNorm before each block) instead of post-norm (default false). */
  normFirst?: boolean;
  /** Biases in the linear layers, the attention and the layer norms (default true). */
  bias?: boolean;
}

export interface TransformerEncoderLayerForwardOptions {
  /** Attention mask, [L, L] or [N·nhead, L, L]: boolean true = may not attend; float added. */
  srcMask?: tf.Tensor | null;
  /** [N, L] (or [L] unbatched): true = padding position. */
  srcKeyPaddingMask?: tf.Tensor | null;
}

export interface TransformerEncoderForwardOptions {
  /** Attention mask for every layer, as the layer's `srcMask`. */
  mask?: tf.Tensor | null;
  /** [N, L] (or [L] unbatched): true = padding position. */
  srcKeyPaddingMask?: tf.Tensor | null;
}

/**
 * `nn.TransformerEncoderLayer(dModel, nhead)`: PyTorch 1.13's layer with its submodule names,
 * so `stateDict()` keys match (`self_attn.in_proj_weight`, `linear1.weight`, `norm1.bias`, …).
 * Post-norm: `x = norm1(x + dropout1(selfAttn(x)))`, `x = norm2(x + dropout2(ff(x)))`, with
 * `ff(x) = linear2(dropout(activation(linear1(x))))`; `normFirst` moves the norms inside the
 * residual branches.
 */
export class TransformerEncoderLayer extends Module {
  self_attn: MultiheadAttention;
  linear1: Linear;
  dropout: Dropout;
  linear2: Linear;
  norm1: LayerNorm;
  norm2: LayerNorm;
  dropout1: Dropout;
  dropout2: Dropout;
  readonly normFirst: boolean;
  readonly batchFirst: boolean;
  readonly activation: (x: tf.Tensor) => tf.Tensor;

  constructor(dModel: number, nhead: number, options: TransformerEncoderLayerOptions = {}) {
    super();
    const dimFeedforward = options.dimFeedforward ?? 2048;
    const p = options.dropout ?? 0.1;
    const eps = options.layerNormEps ?? 1e-5;
    const bias = options.bias ?? true;
    this.batchFirst = options.batchFirst ?? false;
    this.normFirst = options.normFirst ?? false;
    // Construction order is PyTorch's, so the init stream is consumed in the same order.
    this.self_attn = new MultiheadAttention(dModel, nhead, { dropout: p, bias, batchFirst: this.batchFirst });
    this.linear1 = new Linear(dModel, dimFeedforward, { bias });
    this.dropout = new Dropout(p);
    this.linear2 = new Linear(dimFeedforward, dModel, { bias });
    this.norm1 = new LayerNorm(dModel, { eps, bias });
    this.norm2 = new LayerNorm(dModel, { eps, bias });
    this.dropout1 = new Dropout(p);
    this.dropout2 = new Dropout(p);
    this.activation = resolveActivation(options.activation ?? "relu");
  }

  override forward(src: tf.Tensor, options: TransformerEncoderLayerForwardOptions = {}): tf.Tensor {
    const { srcMask: mask = null, srcKeyPaddingMask = null } = options;
    let x = src;
    if (this.normFirst) {
      x = tf.add(x, this.saBlock(this.norm1.forward(x), mask, srcKeyPaddingMask));
      x = tf.add(x, this.ffBlock(this.norm2.forward(x)));
    } else {
      x = this.norm1.forward(tf.add(x, this.saBlock(x, mask, srcKeyPaddingMask)));
      x = this.norm2.forward(tf.add(x, this.ffBlock(x)));
    }
    return x;
  }

  private saBlock(x: tf.Tensor, attnMask: tf.Tensor | null, keyPaddingMask: tf.Tensor | null): tf.Tensor {
    const [out] = this.self_attn.forward(x, x, x, { attnMask, keyPaddingMask, needWeights: false });
    return this.dropout1.forward(out);
  }

  private ffBlock(x: tf.Tensor): tf.Tensor {
    return this.dropout2.forward(this.linear2.forward(this.dropout.forward(this.activation(this.linear1.forward(x)))));
  }
}

function resolveActivation(a: TransformerActivation): (x: tf.Tensor) => tf.Tensor {
  if (typeof a === "function") return a;
  if (a === "relu") return relu;
  if (a === "gelu") return (x) => gelu(x);
  throw new Error(`activation should be relu/gelu, not ${String(a)}`);
}

export interface TransformerEncoderOptions {
  /** A final layer norm (or any module) applied to the output. */
  norm?: Module | null;
  /** Accepted for PyTorch compatibility (a CUDA fast path); ignored. */
  enableNestedTensor?: boolean;
}

/**
 * `nn.TransformerEncoder(encoderLayer, numLayers)`: `numLayers` deep copies of the layer
 * (`layers.0.…`, each with its own weights, all equal at construction, as in PyTorch), then
 * the optional `norm`.
 */
export class TransformerEncoder extends Module {
  layers: ModuleList<TransformerEncoderLayer>;
  readonly numLayers: number;
  norm: Module | null;

  constructor(encoderLayer: TransformerEncoderLayer, numLayers: number, options: TransformerEncoderOptions = {}) {
    super();
    if (!(encoderLayer instanceof Module)) throw new Error("TransformerEncoder: encoderLayer must be an nn.Module");
    if (!Number.isInteger(numLayers) || numLayers < 0)
      throw new Error(`TransformerEncoder: numLayers must be a non-negative integer, got ${numLayers}`);
    this.layers = new ModuleList(Array.from({ length: numLayers }, () => deepCopyModule(encoderLayer)));
    this.numLayers = numLayers;
    this.norm = options.norm ?? null;
  }

  override forward(src: tf.Tensor, options: TransformerEncoderForwardOptions = {}): tf.Tensor {
    let x = src;
    const layerOptions = { srcMask: options.mask ?? null, srcKeyPaddingMask: options.srcKeyPaddingMask ?? null };
    for (const layer of this.layers) x = layer.forward(x, layerOptions);
    return this.norm ? (this.norm.forward as (t: tf.Tensor) => tf.Tensor).call(this.norm, x) : x;
  }
}
