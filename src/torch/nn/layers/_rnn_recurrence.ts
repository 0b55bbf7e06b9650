import { tf } from "../../tf.ts";
import { fusedKernelApplies } from "../../backends/kernels/fused_op.ts";
import {
  GRU_CELL,
  GRU_CELL_GRAD,
  LSTM_CELL,
  LSTM_CELL_GRAD,
  RNN_CELL,
  RNN_CELL_GRAD,
} from "../../backends/kernels/recurrent_cells.ts";

/**
 * The differentiable kernels behind `nn.RNN` / `LSTM` / `GRU` and their cells: the input
 * projection `x W_ih^T` and the recurrence over time, each one tfjs op with a hand-written
 * gradient (`tf.customGrad`), so our tape and `tf.variableGrads` both see one node each.
 *
 * Why not let the tape record every step: on WASM (FACTS.md; measured again for this layer) a
 * `matMul` with a transpose flag takes a slow path, 6-13x slower than a transpose plus a plain
 * `matMul`, and tfjs's MatMul gradient uses those flags for both inputs; and `slice` / `split` /
 * `unstack` read the *whole* input back from the WASM heap for each slice, so cutting a
 * [T, B, 4H] projection into T steps costs O(T^2) copies (13 ms for T = 35, B = 20, H = 64),
 * in the forward and again in a recorded slice's gradient. Here a step is read with `gather`
 * (native), every product is an unflagged `matMul`, and the weight gradient of the recurrence
 * is one product over all steps.
 */

export type RnnMode = "RNN_TANH" | "RNN_RELU" | "LSTM" | "GRU";

/** Gates stacked in each weight (PyTorch's order: LSTM i, f, g, o; GRU r, z, n). */
export const GATE_COUNT: Record<RnnMode, number> = { RNN_TANH: 1, RNN_RELU: 1, LSTM: 4, GRU: 3 };

type Grad = (dy: tf.Tensor, saved: tf.Tensor[]) => tf.Tensor[];
type Fn = (...args: Array<tf.Tensor | ((ts: tf.Tensor[]) => void)>) => { value: tf.Tensor; gradFunc: Grad };

function customOp(f: Fn): (...inputs: tf.Tensor[]) => tf.Tensor {
  return tf.customGrad(f as unknown as Parameters<typeof tf.customGrad>[0]) as unknown as (
    ...inputs: tf.Tensor[]
  ) => tf.Tensor;
}

/** `x [N, in] @ W^T` for PyTorch's weight layout W [out, in]; gradients dx = dy W, dW = dy^T x. */
const linearTOp = customOp((x, w, save) => {
  (save as (ts: tf.Tensor[]) => void)([x as tf.Tensor, w as tf.Tensor]);
  return {
    value: tf.matMul(x as tf.Tensor, tf.transpose(w as tf.Tensor)),
    gradFunc: (dy, [xs, ws]) => tf.tidy(() => [tf.matMul(dy, ws), tf.matMul(tf.transpose(dy), xs)]),
  };
});

export function linearT(x: tf.Tensor, w: tf.Tensor): tf.Tensor {
  return linearTOp(x, w);
}

/** The state a step saves for the backward pass, by mode, as tfjs ops and as one kernel. */
const SAVED_PER_STEP: Record<RnnMode, number> = {
  RNN_TANH: 2, // hPrev, h
  RNN_RELU: 2,
  LSTM: 7, // hPrev, i, f, g, o, cPrev, tanh(c)
  GRU: 5, // hPrev, r, z, n, W_hn h + b_hn
};
const SAVED_PER_FUSED_STEP: Record<RnnMode, number> = {
  RNN_TANH: 2, // hPrev, h
  RNN_RELU: 2,
  LSTM: 4, // hPrev, [i f g o], cPrev, tanh(c)
  GRU: 3, // hPrev, [r z n], W_hn h + b_hn
};

const CELL_KERNEL: Record<RnnMode, string> = { RNN_TANH: RNN_CELL, RNN_RELU: RNN_CELL, LSTM: LSTM_CELL, GRU: GRU_CELL };

/**
 * Whether each step runs as one kernel (recurrent_cells.ts: the ops' arithmetic, with a float32
 * sigmoid and tanh of its own): where the backend has it, and not under 16-bit "all" emulation,
 * which rounds each op's output.
 */
function fusedSteps(mode: RnnMode, p: tf.Tensor): boolean {
  return p.dtype === "float32" && fusedKernelApplies(CELL_KERNEL[mode]);
}

function runCell(
  kernelName: string,
  inputs: Record<string, tf.Tensor>,
  attrs: Record<string, number | boolean>,
): tf.Tensor[] {
  const out = tf.engine().runKernel(kernelName, inputs, attrs as unknown as tf.NamedAttrMap);
  return Array.isArray(out) ? (out as tf.Tensor[]) : [out as tf.Tensor];
}

function step(t: tf.Tensor, index: number): tf.Tensor {
  return tf.gather(t, tf.scalar(index, "int32"));
}

/**
 * Runs one layer-direction over time. `P` [T, B, G*H] is the input projection with the biases
 * that add straight into the gates (b_ih + b_hh; for GRU only b_ih, since b_hn sits inside
 * r * (W_hn h + b_hn) and `bhh` is passed separately). Steps run from T-1 down to 0 when
 * `reverse`. Returns [T + 1, B, H] (outputs in time order, then h_n), or [T + 2, B, H] for LSTM
 * (then c_n): a custom op has one output.
 */
export function recurrence(
  mode: RnnMode,
  P: tf.Tensor,
  whh: tf.Tensor,
  h0: tf.Tensor,
  c0: tf.Tensor | null,
  bhh: tf.Tensor | null,
  reverse: boolean,
): tf.Tensor {
  const T = P.shape[0];
  const H = whh.shape[1] as number;
  const order = Array.from({ length: T }, (_, k) => (reverse ? T - 1 - k : k));
  const lstm = mode === "LSTM";
  const gru = mode === "GRU";
  const relu = mode === "RNN_RELU";
  const fused = fusedSteps(mode, P);
  const perStep = (fused ? SAVED_PER_FUSED_STEP : SAVED_PER_STEP)[mode];
  const inputs = [P, whh, h0];
  if (lstm) inputs.push(c0!);
  if (gru && bhh) inputs.push(bhh);

  const op = customOp((...args) => {
    const save = args.pop() as (ts: tf.Tensor[]) => void;
    const [p, w, hInit, extra] = args as tf.Tensor[];
    const cInit = lstm ? extra : null;
    const b = gru ? (extra ?? null) : null;
    const wT = tf.transpose(w);
    const saved: tf.Tensor[] = [w];
    const outs: tf.Tensor[] = new Array(T);
    let h = hInit;
    let c = cInit;
    for (const t of order) {
      const hPrev = h;
      if (fused) {
        const hw = tf.matMul(hPrev, wT);
        if (lstm) {
          const [hNew, cNew, gates, tc] = runCell(LSTM_CELL, { p, hw, c: c! }, { t });
          saved.push(hPrev, gates, c!, tc);
          h = hNew;
          c = cNew;
        } else if (gru) {
          const [hNew, rzn, ghn] = runCell(GRU_CELL, b ? { p, hw, hPrev, b } : { p, hw, hPrev }, { t });
          saved.push(hPrev, rzn, ghn);
          h = hNew;
        } else {
          [h] = runCell(RNN_CELL, { p, hw }, { t, relu });
          saved.push(hPrev, h);
        }
        outs[t] = h;
        continue;
      }
      const pt = step(p, t);
      if (mode === "RNN_TANH" || mode === "RNN_RELU") {
        const pre = tf.add(pt, tf.matMul(hPrev, wT));
        h = mode === "RNN_TANH" ? tf.tanh(pre) : tf.relu(pre);
        saved.push(hPrev, h);
      } else if (lstm) {
        const [gi, gf, gg, go] = tf.split(tf.add(pt, tf.matMul(hPrev, wT)), 4, 1);
        const i = tf.sigmoid(gi);
        const f = tf.sigmoid(gf);
        const g = tf.tanh(gg);
        const o = tf.sigmoid(go);
        const cPrev = c!;
        c = tf.add(tf.mul(f, cPrev), tf.mul(i, g));
        const tc = tf.tanh(c);
        h = tf.mul(o, tc);
        saved.push(hPrev, i, f, g, o, cPrev, tc);
      } else {
        let gh = tf.matMul(hPrev, wT);
        if (b) gh = tf.add(gh, b);
        const [ghRZ, ghN] = tf.split(gh, [2 * H, H], 1);
        const [pRZ, pN] = tf.split(pt, [2 * H, H], 1);
        const [r, z] = tf.split(tf.sigmoid(tf.add(pRZ, ghRZ)), 2, 1);
        const n = tf.tanh(tf.add(pN, tf.mul(r, ghN)));
        // (1 - z) * n + z * h, with one product fewer.
        h = tf.add(n, tf.mul(z, tf.sub(hPrev, n)));
        saved.push(hPrev, r, z, n, ghN);
      }
      outs[t] = h;
    }
    save(saved);
    const value = tf.stack(lstm ? [...outs, h, c!] : [...outs, h]);

    const gradFunc: Grad = (dy, s) =>
      tf.tidy(() => {
        const wS = s[0];
        let dh = step(dy, T);
        let dc = lstm ? step(dy, T + 1) : null;
        const dP: tf.Tensor[] = new Array(T);
        // Gradients w.r.t. the hidden-side pre-activations (h W_hh^T + b_hh) and the h they
        // multiplied, in processing order, for dW_hh as one product over all steps.
        const dGH: tf.Tensor[] = new Array(T);
        const hPrevs: tf.Tensor[] = new Array(T);
        for (let k = T - 1; k >= 0; k--) {
          const t = order[k];
          const at = 1 + k * perStep;
          const hPrev = s[at];
          hPrevs[k] = hPrev;
          if (fused) {
            if (lstm) {
              const [gates, cPrev, tc] = s.slice(at + 1, at + perStep);
              const [dG, dcPrev] = runCell(LSTM_CELL_GRAD, { dy, dh, dc: dc!, gates, cPrev, tc }, { t });
              dP[t] = dG;
              dGH[k] = dG;
              dc = dcPrev;
              dh = tf.matMul(dG, wS);
            } else if (gru) {
              const [rzn, ghn] = s.slice(at + 1, at + perStep);
              const [dPt, dG, dhz] = runCell(GRU_CELL_GRAD, { dy, dh, rzn, ghn, hPrev }, { t });
              dP[t] = dPt;
              dGH[k] = dG;
              dh = tf.add(dhz, tf.matMul(dG, wS));
            } else {
              const [dPre] = runCell(RNN_CELL_GRAD, { dy, dh, h: s[at + 1] }, { t, relu });
              dP[t] = dPre;
              dGH[k] = dPre;
              dh = tf.matMul(dPre, wS);
            }
            continue;
          }
          dh = tf.add(dh, step(dy, t));
          if (mode === "RNN_TANH" || mode === "RNN_RELU") {
            const hOut = s[at + 1];
            const deriv = mode === "RNN_TANH" ? tf.sub(1, tf.square(hOut)) : tf.cast(tf.greater(hOut, 0), "float32");
            const dPre = tf.mul(dh, deriv);
            dP[t] = dPre;
            dGH[k] = dPre;
            dh = tf.matMul(dPre, wS);
          } else if (lstm) {
            const [i, f, g, o, cPrev, tc] = s.slice(at + 1, at + perStep);
            const dcT = tf.add(dc!, tf.mul(tf.mul(dh, o), tf.sub(1, tf.square(tc))));
            const dGi = tf.mul(tf.mul(dcT, g), tf.mul(i, tf.sub(1, i)));
            const dGf = tf.mul(tf.mul(dcT, cPrev), tf.mul(f, tf.sub(1, f)));
            const dGg = tf.mul(tf.mul(dcT, i), tf.sub(1, tf.square(g)));
            const dGo = tf.mul(tf.mul(dh, tc), tf.mul(o, tf.sub(1, o)));
            const dG = tf.concat([dGi, dGf, dGg, dGo], 1);
            dc = tf.mul(dcT, f);
            dP[t] = dG;
            dGH[k] = dG;
            dh = tf.matMul(dG, wS);
          } else {
            const [r, z, n, ghN] = s.slice(at + 1, at + perStep);
            const dnPre = tf.mul(tf.mul(dh, tf.sub(1, z)), tf.sub(1, tf.square(n)));
            const drPre = tf.mul(tf.mul(dnPre, ghN), tf.mul(r, tf.sub(1, r)));
            const dzPre = tf.mul(tf.mul(dh, tf.sub(hPrev, n)), tf.mul(z, tf.sub(1, z)));
            dP[t] = tf.concat([drPre, dzPre, dnPre], 1);
            const dG = tf.concat([drPre, dzPre, tf.mul(dnPre, r)], 1);
            dGH[k] = dG;
            dh = tf.add(tf.mul(dh, z), tf.matMul(dG, wS));
          }
        }
        const GH = wS.shape[0];
        const dGHAll = tf.reshape(tf.stack(dGH), [-1, GH]);
        const dW = tf.matMul(tf.transpose(dGHAll), tf.reshape(tf.stack(hPrevs), [-1, H]));
        const grads = [tf.stack(dP), dW, dh];
        if (lstm) grads.push(dc!);
        if (gru && b) grads.push(tf.sum(dGHAll, 0));
        return grads;
      });
    return { value, gradFunc };
  });
  return op(...inputs);
}
