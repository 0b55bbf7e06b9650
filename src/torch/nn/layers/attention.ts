import { tf } from "../../tf.ts";
import { Module } from "../module.ts";
import { emptyParameter } from "../parameter.ts";
import * as init from "../init.ts";
import { Linear } from "./linear.ts";
import { linear } from "../../functional/linear.ts";
import { attend } from "../../functional/attention.ts";
import { noGrad } from "../../autograd/grad_mode.ts";
import { checkDropoutP } from "../../functional/dropout.ts";
import { shapeStr } from "./_util.ts";

export interface MultiheadAttentionOptions {
  /** Dropout on the attention weights in training mode (default 0). */
  dropout?: number;
  /** Input and output projection biases (default true). */
  bias?: boolean;
  /** Inputs and outputs are [N, L, E] instead of [L, N, E] (default false). */
  batchFirst?: boolean;
  /** Features of `key` (default embedDim); when it or vdim differs, q/k/v get separate weights. */
  kdim?: number;
  /** Features of `value` (default embedDim). */
  vdim?: number;
}

export interface MultiheadAttentionForwardOptions {
  /**
   * [N, S] (or [S] unbatched): true = this key is padding, ignore it. A float mask is added to
   * the scores.
   */
  keyPaddingMask?: tf.Tensor | null;
  /** Return the attention weights as well (default true); otherwise the second item is null. */
  needWeights?: boolean;
  /**
   * [L, S] or [N·numHeads, L, S]: true = may NOT attend (PyTorch's convention for this layer);
   * a float mask is added to the scores.
   */
  attnMask?: tf.Tensor | null;
  /** Average the returned weights over heads ([N, L, S]) instead of [N, numHeads, L, S]. */
  averageAttnWeights?: boolean;
}

/**
 * PyTorch's out_proj class: a plain Linear (the distinct name only matters to quantization),
 * kept so that `toString()` prints what PyTorch prints.
 */
export class NonDynamicallyQuantizableLinear extends Linear {}

/**
 * `nn.MultiheadAttention(embedDim, numHeads)`: `concat(head_1..head_h) W_o + b_o` with
 * `head_i = softmax(q_i k_iᵀ / sqrt(headDim) + mask) v_i`, where q, k, v are the inputs through
 * the packed projection `in_proj_weight` [3E, E] (or `q_proj_weight`, `k_proj_weight`,
 * `v_proj_weight` when kdim/vdim differ from embedDim). Parameters, names and initialisation
 * are PyTorch's: xavier-uniform projections, zero `in_proj_bias` and `out_proj.bias`
 * (`out_proj.weight` keeps Linear's default), drawn in PyTorch's order.
 *
 * forward(query, key, value) → [output, weights | null]; inputs [L, N, E] (seq-first, as
 * PyTorch) or [N, L, E] with `batchFirst`, or unbatched [L, E].
 */
export class MultiheadAttention extends Module {
  // Field order is PyTorch's registration order (stateDict order); the unused ones stay null.
  q_proj_weight: tf.Variable | null = null;
  k_proj_weight: tf.Variable | null = null;
  v_proj_weight: tf.Variable | null = null;
  in_proj_weight: tf.Variable | null = null;
  in_proj_bias: tf.Variable | null = null;
  out_proj: NonDynamicallyQuantizableLinear;
  readonly embedDim: number;
  readonly numHeads: number;
  readonly headDim: number;
  readonly kdim: number;
  readonly vdim: number;
  readonly dropout: number;
  readonly batchFirst: boolean;

  constructor(embedDim: number, numHeads: number, options: MultiheadAttentionOptions = {}) {
    super();
    for (const [name, v] of [
      ["embedDim", embedDim],
      ["numHeads", numHeads],
    ] as const) {
      if (!Number.isInteger(v) || v <= 0)
        throw new Error(`MultiheadAttention: ${name} must be a positive integer, got ${v}`);
    }
    if (embedDim % numHeads !== 0) throw new Error("MultiheadAttention: embed_dim must be divisible by num_heads");
    const dropout = options.dropout ?? 0;
    checkDropoutP(dropout, "MultiheadAttention");
    this.embedDim = embedDim;
    this.numHeads = numHeads;
    this.headDim = embedDim / numHeads;
    this.kdim = options.kdim ?? embedDim;
    this.vdim = options.vdim ?? embedDim;
    this.dropout = dropout;
    this.batchFirst = options.batchFirst ?? false;
    const bias = options.bias ?? true;
    if (this.qkvSameEmbedDim) {
      this.in_proj_weight = emptyParameter([3 * embedDim, embedDim]);
    } else {
      this.q_proj_weight = emptyParameter([embedDim, embedDim]);
      this.k_proj_weight = emptyParameter([embedDim, this.kdim]);
      this.v_proj_weight = emptyParameter([embedDim, this.vdim]);
    }
    this.in_proj_bias = bias ? emptyParameter([3 * embedDim]) : null;
    this.out_proj = new NonDynamicallyQuantizableLinear(embedDim, embedDim, { bias });
    this.resetParameters();
  }

  get qkvSameEmbedDim(): boolean {
    return this.kdim === this.embedDim && this.vdim === this.embedDim;
  }

  /** PyTorch's `_reset_parameters` (out_proj.weight keeps the Linear initialisation). */
  resetParameters(): void {
    if (this.in_proj_weight) init.xavierUniform_(this.in_proj_weight);
    else for (const w of [this.q_proj_weight!, this.k_proj_weight!, this.v_proj_weight!]) init.xavierUniform_(w);
    if (this.in_proj_bias) {
      init.constant_(this.in_proj_bias, 0);
      init.constant_(this.out_proj.bias!, 0);
    }
  }

  override forward(
    query: tf.Tensor,
    key: tf.Tensor,
    value: tf.Tensor,
    options: MultiheadAttentionForwardOptions = {},
  ): [tf.Tensor, tf.Tensor | null] {
    const { needWeights = true, averageAttnWeights = true } = options;
    const E = this.embedDim;
    const H = this.numHeads;
    const hd = this.headDim;
    const unbatched = query.rank === 2;
    const rank = unbatched ? 2 : 3;
    const where = `MultiheadAttention(embed_dim=${E}, num_heads=${H})`;
    if (
      (query.rank !== 2 && query.rank !== 3) ||
      key.rank !== rank ||
      value.rank !== rank ||
      query.shape[rank - 1] !== E ||
      key.shape[rank - 1] !== this.kdim ||
      value.shape[rank - 1] !== this.vdim
    ) {
      const lay = unbatched ? "[L, E]" : this.batchFirst ? "[N, L, E]" : "[L, N, E]";
      throw new Error(
        `${where}: expected query, key, value as ${lay} with E = ${E}, ${this.kdim}, ${this.vdim}, got ${shapeStr(query.shape)}, ${shapeStr(key.shape)}, ${shapeStr(value.shape)}`,
      );
    }
    const nl = (t: tf.Tensor): [number, number] => {
      const sh = t.shape as number[];
      return unbatched ? [1, sh[0]] : this.batchFirst ? [sh[0], sh[1]] : [sh[1], sh[0]];
    };
    const [n, l] = nl(query);
    const [nk, s] = nl(key);
    const [nv, sv] = nl(value);
    if (nk !== n || nv !== n || sv !== s) {
      throw new Error(
        `${where}: query, key and value disagree on batch or key length: ${shapeStr(query.shape)}, ${shapeStr(key.shape)}, ${shapeStr(value.shape)}`,
      );
    }
    const result = tf.tidy(() => {
      // Work batch-first: [N, L, E].
      const toNLE = (t: tf.Tensor): tf.Tensor =>
        unbatched ? tf.expandDims(t, 0) : this.batchFirst ? t : tf.transpose(t, [1, 0, 2]);
      const q = toNLE(query);
      const k = toNLE(key);
      const v = toNLE(value);
      const mask = this.additiveMask(options, n, l, s, unbatched, where);
      const [wq, wk, wv] = this.in_proj_weight
        ? [0, 1, 2].map((i) => tf.slice(this.in_proj_weight!, [i * E, 0], [E, E]))
        : [this.q_proj_weight!, this.k_proj_weight!, this.v_proj_weight!];
      const [bq, bk, bv] = this.in_proj_bias
        ? [0, 1, 2].map((i) => tf.slice(this.in_proj_bias!, [i * E], [E]))
        : [null, null, null];
      // [N, L, E] -> [N, H, L, hd]
      const heads = (t: tf.Tensor, len: number): tf.Tensor =>
        tf.transpose(tf.reshape(t, [n, len, H, hd]), [0, 2, 1, 3]);
      const qh = heads(linear(q, wq, bq), l);
      const kh = heads(linear(k, wk, bk), s);
      const vh = heads(linear(v, wv, bv), s);
      const p = this.training ? this.dropout : 0;
      const [ctx, weights] = attend(qh, kh, vh, mask, p, 1 / Math.sqrt(hd), "drop", true);
      const merged = tf.reshape(tf.transpose(ctx, [0, 2, 1, 3]), [n, l, E]);
      let out = this.out_proj.forward(merged);
      out = unbatched ? tf.squeeze(out, [0]) : this.batchFirst ? out : tf.transpose(out, [1, 0, 2]);
      if (!needWeights) return [out];
      let w = averageAttnWeights ? tf.mean(weights, 1) : weights;
      if (unbatched) w = tf.squeeze(w, [0]);
      return [out, w];
    });
    return [result[0], result[1] ?? null];
  }

  /**
   * attnMask and keyPaddingMask as one float mask broadcastable to [N, H, L, S] (boolean true
   * → -inf), or null. Float masks stay differentiable; boolean ones are built off the tape.
   */
  private additiveMask(
    options: MultiheadAttentionForwardOptions,
    n: number,
    l: number,
    s: number,
    unbatched: boolean,
    where: string,
  ): tf.Tensor | null {
    const H = this.numHeads;
    const parts: tf.Tensor[] = [];
    const asFloat = (m: tf.Tensor): tf.Tensor =>
      m.dtype === "bool" ? noGrad(() => tf.tidy(() => tf.where(m, tf.fill(m.shape, -Infinity), tf.zeros(m.shape)))) : m;
    const { attnMask, keyPaddingMask } = options;
    if (attnMask) {
      let m: tf.Tensor;
      if (attnMask.rank === 2) {
        if (attnMask.shape[0] !== l || attnMask.shape[1] !== s)
          throw new Error(
            `${where}: the shape of the 2D attn_mask is ${shapeStr(attnMask.shape)}, but should be [${l}, ${s}]`,
          );
        m = attnMask;
      } else if (attnMask.rank === 3) {
        const b = unbatched ? H : n * H;
        if (attnMask.shape[0] !== b || attnMask.shape[1] !== l || attnMask.shape[2] !== s)
          throw new Error(
            `${where}: the shape of the 3D attn_mask is ${shapeStr(attnMask.shape)}, but should be [${b}, ${l}, ${s}]`,
          );
        m = tf.reshape(attnMask, [n, H, l, s]);
      } else {
        throw new Error(`${where}: attn_mask's dimension ${attnMask.rank} is not supported`);
      }
      parts.push(asFloat(m));
    }
    if (keyPaddingMask) {
      const expected = unbatched ? [s] : [n, s];
      if (!tf.util.arraysEqual(keyPaddingMask.shape, expected))
        throw new Error(
          `${where}: expected key_padding_mask of shape ${shapeStr(expected)}, got ${shapeStr(keyPaddingMask.shape)}`,
        );
      parts.push(asFloat(tf.reshape(keyPaddingMask, [n, 1, 1, s])));
    }
    if (parts.length === 0) return null;
    return parts.length === 1 ? parts[0] : tf.add(parts[0], parts[1]);
  }
}
