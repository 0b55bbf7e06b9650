import { tf } from "../../tf.ts";
import { Module } from "../module.ts";
import { emptyParameter } from "../parameter.ts";
import * as init from "../init.ts";
import { GATE_COUNT, linearT, recurrence, type RnnMode } from "./_rnn_recurrence.ts";
import { pyBool, shapeStr } from "./_util.ts";

export interface RNNCellOptions {
  /** Learn b_ih and b_hh (default true). */
  bias?: boolean;
}

export interface RNNCellNonlinearityOptions extends RNNCellOptions {
  /** "tanh" (default) or "relu". */
  nonlinearity?: "tanh" | "relu";
}

/**
 * PyTorch's `RNNCellBase`: one time step, parameters `weight_ih` [G*H, in], `weight_hh`
 * [G*H, H], `bias_ih`, `bias_hh` [G*H], drawn U(-1/sqrt(H), 1/sqrt(H)) in that order. The step
 * is the layers' recurrence run over a sequence of length 1.
 */
export abstract class RNNCellBase extends Module {
  weight_ih: tf.Variable;
  weight_hh: tf.Variable;
  bias_ih: tf.Variable | null;
  bias_hh: tf.Variable | null;
  readonly inputSize: number;
  readonly hiddenSize: number;
  readonly bias: boolean;
  protected readonly mode: RnnMode;

  constructor(mode: RnnMode, inputSize: number, hiddenSize: number, options: RNNCellOptions = {}) {
    super();
    const name = this.constructor.name;
    if (!Number.isInteger(inputSize) || inputSize < 0) {
      throw new Error(`${name}: inputSize must be an integer >= 0, got ${inputSize}`);
    }
    if (!Number.isInteger(hiddenSize) || hiddenSize < 1) {
      throw new Error(`${name}: hiddenSize must be an integer >= 1, got ${hiddenSize}`);
    }
    const gh = GATE_COUNT[mode] * hiddenSize;
    this.weight_ih = emptyParameter([gh, inputSize]);
    this.weight_hh = emptyParameter([gh, hiddenSize]);
    this.bias = options.bias ?? true;
    this.bias_ih = this.bias ? emptyParameter([gh]) : null;
    this.bias_hh = this.bias ? emptyParameter([gh]) : null;
    this.inputSize = inputSize;
    this.hiddenSize = hiddenSize;
    this.mode = mode;
    this.resetParameters();
  }

  resetParameters(): void {
    const stdv = 1 / Math.sqrt(this.hiddenSize);
    for (const w of this.parameters()) init.uniform_(w, -stdv, stdv);
  }

  /** One step: input [B, in] or [in], states [B, H] or [H]; returns h' (and c' for LSTM). */
  protected cell(input: tf.Tensor, h0: tf.Tensor | null, c0: tf.Tensor | null): [tf.Tensor, tf.Tensor | null] {
    const name = this.constructor.name;
    if (input.rank !== 1 && input.rank !== 2) {
      throw new Error(`${name}: Expected input to be 1D or 2D, got ${input.rank}D instead`);
    }
    if (input.shape[input.rank - 1] !== this.inputSize) {
      throw new Error(
        `${name}: input has inconsistent input_size: got ${input.shape[input.rank - 1]} expected ${this.inputSize}`,
      );
    }
    const batched = input.rank === 2;
    const lstm = this.mode === "LSTM";
    const step = (): [tf.Tensor, tf.Tensor | null] => {
      const x = batched ? input : tf.expandDims(input, 0);
      const B = x.shape[0];
      const H = this.hiddenSize;
      const state = (s: tf.Tensor | null): tf.Tensor => {
        if (s == null) return tf.zeros([B, H]);
        const want = batched ? [B, H] : [H];
        if (!tf.util.arraysEqual(s.shape, want)) {
          throw new Error(`${name}: Expected hidden state of shape ${shapeStr(want)}, got ${shapeStr(s.shape)}`);
        }
        return batched ? s : tf.expandDims(s, 0);
      };
      let p = linearT(x, this.weight_ih);
      if (this.bias_ih && this.bias_hh) {
        p = tf.add(p, this.mode === "GRU" ? this.bias_ih : tf.add(this.bias_ih, this.bias_hh));
      }
      const res = recurrence(
        this.mode,
        tf.expandDims(p, 0),
        this.weight_hh,
        state(h0),
        lstm ? state(c0) : null,
        this.mode === "GRU" ? this.bias_hh : null,
        false,
      );
      // res is [output, h', (c')]; the output step equals h'.
      const parts = tf.split(res, lstm ? [1, 1, 1] : [1, 1], 0);
      const h = tf.squeeze(parts[1], batched ? [0] : [0, 1]);
      const c = lstm ? tf.squeeze(parts[2], batched ? [0] : [0, 1]) : null;
      return [h, c];
    };
    return tf.tidy(step as unknown as () => tf.Tensor[]) as unknown as ReturnType<typeof step>;
  }

  override extraRepr(): string {
    let s = `${this.inputSize}, ${this.hiddenSize}`;
    if (!this.bias) s += `, bias=${pyBool(this.bias)}`;
    return s;
  }
}

/** `nn.RNNCell(inputSize, hiddenSize, { bias, nonlinearity })`: h' = act(x W_ih^T + b_ih + h W_hh^T + b_hh). */
export class RNNCell extends RNNCellBase {
  readonly nonlinearity: "tanh" | "relu";

  constructor(inputSize: number, hiddenSize: number, options: RNNCellNonlinearityOptions = {}) {
    const nl = options.nonlinearity ?? "tanh";
    if (nl !== "tanh" && nl !== "relu") {
      throw new Error(`RNNCell: Unknown nonlinearity: ${nl as string}`);
    }
    super(nl === "tanh" ? "RNN_TANH" : "RNN_RELU", inputSize, hiddenSize, options);
    this.nonlinearity = nl;
  }

  override forward(input: tf.Tensor, hx?: tf.Tensor | null): tf.Tensor {
    return this.cell(input, hx ?? null, null)[0];
  }

  override extraRepr(): string {
    return super.extraRepr() + (this.nonlinearity !== "tanh" ? `, nonlinearity=${this.nonlinearity}` : "");
  }
}

/** `nn.LSTMCell`: gates i, f, g, o; `forward(input, [h, c]?)` returns `[h', c']`. */
export class LSTMCell extends RNNCellBase {
  constructor(inputSize: number, hiddenSize: number, options: RNNCellOptions = {}) {
    super("LSTM", inputSize, hiddenSize, options);
  }

  override forward(input: tf.Tensor, hx?: [tf.Tensor, tf.Tensor] | null): [tf.Tensor, tf.Tensor] {
    const [h, c] = this.cell(input, hx ? hx[0] : null, hx ? hx[1] : null);
    return [h, c!];
  }
}

/** `nn.GRUCell`: gates r, z, n with n = tanh(W_in x + b_in + r (W_hn h + b_hn)). */
export class GRUCell extends RNNCellBase {
  constructor(inputSize: number, hiddenSize: number, options: RNNCellOptions = {}) {
    super("GRU", inputSize, hiddenSize, options);
  }

  override forward(input: tf.Tensor, hx?: tf.Tensor | null): tf.Tensor {
    return this.cell(input, hx ?? null, null)[0];
  }
}
