import { tf } from "../../tf.ts";
import { Module } from "../module.ts";
import { emptyParameter } from "../parameter.ts";
import * as init from "../init.ts";
import { dropout as fDropout, checkDropoutP } from "../../functional/dropout.ts";
import { warnOnce } from "../../functional/_util.ts";
import { GATE_COUNT, linearT, recurrence, type RnnMode } from "./_rnn_recurrence.ts";
import { pyBool, pyFloat, shapeStr } from "./_util.ts";

export interface RNNBaseOptions {
  /** Stacked recurrent layers (default 1); layer k > 0 reads layer k-1's output. */
  numLayers?: number;
  /** Learn b_ih and b_hh (default true). */
  bias?: boolean;
  /** Input and output are [batch, seq, feature] instead of [seq, batch, feature] (default false). */
  batchFirst?: boolean;
  /** Dropout on each layer's output except the last, in training only (default 0). */
  dropout?: number;
  /** Also run each layer backwards in time and concatenate both outputs (default false). */
  bidirectional?: boolean;
}

export interface RNNOptions extends RNNBaseOptions {
  /** "tanh" (default) or "relu". */
  nonlinearity?: "tanh" | "relu";
}

/**
 * PyTorch's `RNNBase`: parameters `weight_ih_l{k}[_reverse]` [G*H, in], `weight_hh_l{k}[_reverse]`
 * [G*H, H], `bias_ih_l{k}[_reverse]`, `bias_hh_l{k}[_reverse]` [G*H] (G gates), created layer by
 * layer, forward direction first, and all drawn U(-1/sqrt(H), 1/sqrt(H)) in that order from the
 * parameter-initialisation stream, so `stateDict()` keys, order and shapes are PyTorch's.
 */
export abstract class RNNBase extends Module {
  readonly mode: RnnMode;
  readonly inputSize: number;
  readonly hiddenSize: number;
  readonly numLayers: number;
  readonly bias: boolean;
  readonly batchFirst: boolean;
  readonly dropout: number;
  readonly bidirectional: boolean;
  // Declared so TS code can read them; assigned in creation order by the constructor.
  declare weight_ih_l0: tf.Variable;
  declare weight_hh_l0: tf.Variable;
  declare bias_ih_l0: tf.Variable;
  declare bias_hh_l0: tf.Variable;

  constructor(mode: RnnMode, inputSize: number, hiddenSize: number, options: RNNBaseOptions = {}) {
    super();
    const { numLayers = 1, bias = true, batchFirst = false, dropout = 0, bidirectional = false } = options;
    const name = this.constructor.name;
    for (const [k, v, min] of [
      ["inputSize", inputSize, 0],
      ["hiddenSize", hiddenSize, 1],
      ["numLayers", numLayers, 1],
    ] as const) {
      if (!Number.isInteger(v) || v < min) {
        throw new Error(`${name}: ${k} must be an integer >= ${min}, got ${v}`);
      }
    }
    checkDropoutP(dropout, name);
    if (dropout > 0 && numLayers === 1) {
      warnOnce(
        "dropout option adds dropout after all but last recurrent layer, so non-zero dropout expects " +
          `num_layers greater than 1, but got dropout=${pyFloat(dropout)} and num_layers=${numLayers}`,
      );
    }
    this.mode = mode;
    this.inputSize = inputSize;
    this.hiddenSize = hiddenSize;
    this.numLayers = numLayers;
    this.bias = bias;
    this.batchFirst = batchFirst;
    this.dropout = dropout;
    this.bidirectional = bidirectional;
    const gh = GATE_COUNT[mode] * hiddenSize;
    const dirs = bidirectional ? 2 : 1;
    const self = this as unknown as Record<string, tf.Variable>;
    for (let l = 0; l < numLayers; l++) {
      const inSize = l === 0 ? inputSize : hiddenSize * dirs;
      for (let d = 0; d < dirs; d++) {
        const sfx = `_l${l}${d === 1 ? "_reverse" : ""}`;
        self[`weight_ih${sfx}`] = emptyParameter([gh, inSize]);
        self[`weight_hh${sfx}`] = emptyParameter([gh, hiddenSize]);
        if (bias) {
          self[`bias_ih${sfx}`] = emptyParameter([gh]);
          self[`bias_hh${sfx}`] = emptyParameter([gh]);
        }
      }
    }
    this.resetParameters();
  }

  resetParameters(): void {
    const stdv = this.hiddenSize > 0 ? 1 / Math.sqrt(this.hiddenSize) : 0;
    for (const w of this.parameters()) init.uniform_(w, -stdv, stdv);
  }

  /** PyTorch compacts cuDNN weights here; tfjs has nothing to compact. */
  flattenParameters(): void {}

  /** `all_weights`: per layer and direction, [w_ih, w_hh, b_ih, b_hh] (biases when present). */
  get allWeights(): tf.Variable[][] {
    const self = this as unknown as Record<string, tf.Variable>;
    const out: tf.Variable[][] = [];
    for (let l = 0; l < this.numLayers; l++) {
      for (let d = 0; d < (this.bidirectional ? 2 : 1); d++) {
        const sfx = `_l${l}${d === 1 ? "_reverse" : ""}`;
        const names = ["weight_ih", "weight_hh", ...(this.bias ? ["bias_ih", "bias_hh"] : [])];
        out.push(names.map((n) => self[`${n}${sfx}`]));
      }
    }
    return out;
  }

  /**
   * Runs every layer. `input` [T, B, in] ([B, T, in] with batchFirst) or unbatched [T, in];
   * `h0`/`c0` [L*D, B, H] (or [L*D, H] unbatched). Returns output [T, B, D*H] and the final
   * states [L*D, B, H], with the batch dim dropped again for unbatched input.
   */
  protected run(input: tf.Tensor, h0: tf.Tensor | null, c0: tf.Tensor | null): [tf.Tensor, tf.Tensor, tf.Tensor | null] {
    const name = this.constructor.name;
    if (input.rank !== 2 && input.rank !== 3) {
      throw new Error(`${name}: Expected input to be 2-D or 3-D but received ${input.rank}-D tensor`);
    }
    if (input.shape[input.rank - 1] !== this.inputSize) {
      throw new Error(
        `${name}: input.size(-1) must be equal to input_size. Expected ${this.inputSize}, got ${input.shape[input.rank - 1]}`,
      );
    }
    const batched = input.rank === 3;
    const dirs = this.bidirectional ? 2 : 1;
    const H = this.hiddenSize;
    const lstm = this.mode === "LSTM";
    const run = (): [tf.Tensor, tf.Tensor, tf.Tensor | null] => {
      let x = batched ? (this.batchFirst ? tf.transpose(input, [1, 0, 2]) : input) : tf.expandDims(input, 1);
      const [T, B] = x.shape as [number, number];
      const expected = [this.numLayers * dirs, B, H];
      const state = (s: tf.Tensor | null, label: string): tf.Tensor[] | null => {
        if (s == null) return null;
        if (!batched && s.rank !== 2) {
          throw new Error(`${name}: For unbatched 2-D input, ${label} should also be 2-D but got ${s.rank}-D tensor`);
        }
        if (batched && s.rank !== 3) {
          throw new Error(`${name}: For batched 3-D input, ${label} should also be 3-D but got ${s.rank}-D tensor`);
        }
        const s3 = batched ? s : tf.expandDims(s, 1);
        if (!tf.util.arraysEqual(s3.shape, expected)) {
          const want = batched ? expected : [expected[0], H];
          throw new Error(`${name}: Expected ${label} size ${shapeStr(want)}, got ${shapeStr(s.shape)}`);
        }
        return tf.unstack(s3);
      };
      const hs = state(h0, lstm ? "hx[0]" : "hx");
      const cs = lstm ? state(c0, "hx[1]") : null;
      const self = this as unknown as Record<string, tf.Variable | undefined>;
      const zeros = hs == null || (lstm && cs == null) ? tf.zeros([B, H]) : null;
      const hN: tf.Tensor[] = [];
      const cN: tf.Tensor[] = [];
      for (let l = 0; l < this.numLayers; l++) {
        const inSize = x.shape[2] as number;
        const x2 = tf.reshape(x, [T * B, inSize]);
        const outs: tf.Tensor[] = [];
        for (let d = 0; d < dirs; d++) {
          const sfx = `_l${l}${d === 1 ? "_reverse" : ""}`;
          const k = l * dirs + d;
          let p = linearT(x2, self[`weight_ih${sfx}`]!);
          const bih = self[`bias_ih${sfx}`];
          const bhh = self[`bias_hh${sfx}`];
          if (bih && bhh) p = tf.add(p, this.mode === "GRU" ? bih : tf.add(bih, bhh));
          p = tf.reshape(p, [T, B, -1]);
          const res = recurrence(
            this.mode,
            p,
            self[`weight_hh${sfx}`]!,
            hs ? hs[k] : zeros!,
            lstm ? (cs ? cs[k] : zeros!) : null,
            this.mode === "GRU" ? (bhh ?? null) : null,
            d === 1,
          );
          const parts = tf.split(res, lstm ? [T, 1, 1] : [T, 1], 0);
          outs.push(parts[0]);
          hN.push(parts[1]);
          if (lstm) cN.push(parts[2]);
        }
        x = dirs === 2 ? tf.concat(outs, 2) : outs[0];
        if (this.dropout > 0 && this.training && l < this.numLayers - 1) {
          x = fDropout(x, { p: this.dropout, training: true });
        }
      }
      let output = x;
      let h = tf.concat(hN, 0);
      let c = lstm ? tf.concat(cN, 0) : null;
      if (!batched) {
        output = tf.squeeze(output, [1]);
        h = tf.squeeze(h, [1]);
        c = c && tf.squeeze(c, [1]);
      } else if (this.batchFirst) {
        output = tf.transpose(output, [1, 0, 2]);
      }
      return [output, h, c];
    };
    return tf.tidy(run as unknown as () => tf.Tensor[]) as unknown as ReturnType<typeof run>;
  }

  override extraRepr(): string {
    let s = `${this.inputSize}, ${this.hiddenSize}`;
    if (this.numLayers !== 1) s += `, num_layers=${this.numLayers}`;
    if (!this.bias) s += `, bias=${pyBool(this.bias)}`;
    if (this.batchFirst) s += `, batch_first=${pyBool(this.batchFirst)}`;
    if (this.dropout !== 0) s += `, dropout=${pyFloat(this.dropout)}`;
    if (this.bidirectional) s += `, bidirectional=${pyBool(this.bidirectional)}`;
    return s;
  }
}

/**
 * `nn.RNN(inputSize, hiddenSize, { nonlinearity, numLayers, bias, batchFirst, dropout,
 * bidirectional })`: h_t = act(x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh), act tanh or relu.
 * `forward(input, h0?)` returns `[output, hN]`.
 */
export class RNN extends RNNBase {
  readonly nonlinearity: "tanh" | "relu";

  constructor(inputSize: number, hiddenSize: number, options: RNNOptions = {}) {
    const nl = options.nonlinearity ?? "tanh";
    if (nl !== "tanh" && nl !== "relu") {
      throw new Error(`RNN: Unknown nonlinearity '${nl as string}'. Select from 'tanh' or 'relu'.`);
    }
    super(nl === "tanh" ? "RNN_TANH" : "RNN_RELU", inputSize, hiddenSize, options);
    this.nonlinearity = nl;
  }

  override forward(input: tf.Tensor, hx?: tf.Tensor | null): [tf.Tensor, tf.Tensor] {
    const [out, h] = this.run(input, hx ?? null, null);
    return [out, h];
  }
}

/**
 * `nn.LSTM`: gates i, f, g, o (in that order in the weights), c_t = f c_{t-1} + i g,
 * h_t = o tanh(c_t). `forward(input, [h0, c0]?)` returns `[output, [hN, cN]]`.
 */
export class LSTM extends RNNBase {
  constructor(inputSize: number, hiddenSize: number, options: RNNBaseOptions = {}) {
    super("LSTM", inputSize, hiddenSize, options);
  }

  override forward(input: tf.Tensor, hx?: [tf.Tensor, tf.Tensor] | null): [tf.Tensor, [tf.Tensor, tf.Tensor]] {
    if (hx != null && (!Array.isArray(hx) || hx.length !== 2)) {
      throw new Error("LSTM: hx must be a pair [h0, c0]");
    }
    const [out, h, c] = this.run(input, hx ? hx[0] : null, hx ? hx[1] : null);
    return [out, [h, c!]];
  }
}

/**
 * `nn.GRU`: gates r, z, n, n_t = tanh(W_in x_t + b_in + r_t (W_hn h_{t-1} + b_hn)),
 * h_t = (1 - z_t) n_t + z_t h_{t-1}. `forward(input, h0?)` returns `[output, hN]`.
 */
export class GRU extends RNNBase {
  constructor(inputSize: number, hiddenSize: number, options: RNNBaseOptions = {}) {
    super("GRU", inputSize, hiddenSize, options);
  }

  override forward(input: tf.Tensor, hx?: tf.Tensor | null): [tf.Tensor, tf.Tensor] {
    const [out, h] = this.run(input, hx ?? null, null);
    return [out, h];
  }
}
