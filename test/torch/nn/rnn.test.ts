import { describe, it, expect } from "vitest";
import { tf, nn, manualSeed } from "lightning-ts/torch";
import { checkGrads, expectClose, relErr, spread, vals } from "./helpers";

/*
 * References, independent of src/torch/nn/layers/_rnn_recurrence.ts:
 * - forward: plain JS in float64, straight from the equations in PyTorch's torch.nn.RNN / LSTM /
 *   GRU docs (gate order i, f, g, o and r, z, n; n = tanh(W_in x + b_in + r * (W_hn h + b_hn))).
 * - gradients: tf.variableGrads of the same equations written with plain tfjs ops step by step
 *   (tfjs's own gradients), against our layer's loss.backward().
 */

type Mode = "RNN_TANH" | "RNN_RELU" | "LSTM" | "GRU";
const GATES: Record<Mode, number> = { RNN_TANH: 1, RNN_RELU: 1, LSTM: 4, GRU: 3 };
interface Cfg {
  mode: Mode;
  L: number;
  D: number;
  H: number;
}

const sig = (v: number) => 1 / (1 + Math.exp(-v));

/** Returns row block `g` (0-based gate) of W [G*H, n] times v, plus the bias block. */
function gate(W: number[], b: number[] | undefined, g: number, H: number, v: number[]): number[] {
  const n = v.length;
  const out = new Array(H).fill(0);
  for (let r = 0; r < H; r++) {
    let s = b ? b[g * H + r] : 0;
    for (let j = 0; j < n; j++) s += W[(g * H + r) * n + j] * v[j];
    out[r] = s;
  }
  return out;
}

/** One documented step for one batch row. */
function refStep(
  mode: Mode,
  p: Record<string, number[]>,
  sfx: string,
  H: number,
  x: number[],
  h: number[],
  c: number[],
): [number[], number[]] {
  const [Wi, Wh, bi, bh] = [p[`weight_ih${sfx}`], p[`weight_hh${sfx}`], p[`bias_ih${sfx}`], p[`bias_hh${sfx}`]];
  const pre = (g: number) => {
    const a = gate(Wi, bi, g, H, x);
    const b = gate(Wh, bh, g, H, h);
    return [a, b];
  };
  if (mode === "RNN_TANH" || mode === "RNN_RELU") {
    const [a, b] = pre(0);
    const act = (v: number) => (mode === "RNN_TANH" ? Math.tanh(v) : Math.max(0, v));
    return [a.map((v, k) => act(v + b[k])), c];
  }
  if (mode === "LSTM") {
    const sum = (g: number) => {
      const [a, b] = pre(g);
      return a.map((v, k) => v + b[k]);
    };
    const i = sum(0).map(sig);
    const f = sum(1).map(sig);
    const g = sum(2).map(Math.tanh);
    const o = sum(3).map(sig);
    const c2 = c.map((cv, k) => f[k] * cv + i[k] * g[k]);
    return [c2.map((cv, k) => o[k] * Math.tanh(cv)), c2];
  }
  const [ar, br] = pre(0);
  const [az, bz] = pre(1);
  const [an, bn] = pre(2);
  const r = ar.map((v, k) => sig(v + br[k]));
  const z = az.map((v, k) => sig(v + bz[k]));
  const n = an.map((v, k) => Math.tanh(v + r[k] * bn[k]));
  return [n.map((nv, k) => (1 - z[k]) * nv + z[k] * h[k]), c];
}

/**
 * The documented multi-layer recurrence on seq-first data: x [T][B] rows, h0/c0 [L*D][B] rows.
 * Returns output [T][B] (D*H each, forward then reverse), hN and cN [L*D][B].
 */
function refForward(cfg: Cfg, p: Record<string, number[]>, x: number[][][], h0?: number[][][], c0?: number[][][]) {
  const { mode, L, D, H } = cfg;
  const T = x.length;
  const B = x[0].length;
  const zeros = () => Array.from({ length: B }, () => new Array(H).fill(0));
  let inp = x;
  const hN: number[][][] = [];
  const cN: number[][][] = [];
  for (let l = 0; l < L; l++) {
    const outs: number[][][][] = [];
    for (let d = 0; d < D; d++) {
      const sfx = `_l${l}${d ? "_reverse" : ""}`;
      let h = h0 ? h0[l * D + d] : zeros();
      let c = c0 ? c0[l * D + d] : zeros();
      const out: number[][][] = new Array(T);
      for (let k = 0; k < T; k++) {
        const t = d ? T - 1 - k : k;
        const next = inp[t].map((xr, b) => refStep(mode, p, sfx, H, xr, h[b], c[b]));
        h = next.map(([hh]) => hh);
        c = next.map(([, cc]) => cc);
        out[t] = h;
      }
      outs.push(out);
      hN.push(h);
      cN.push(c);
    }
    inp = Array.from({ length: T }, (_, t) => Array.from({ length: B }, (_, b) => outs.flatMap((o) => o[t][b])));
  }
  return { out: inp, hN, cN };
}

function params(m: nn.Module): Record<string, number[]> {
  return Object.fromEntries(Object.entries(m.stateDict()).map(([k, v]) => [k, vals(v)]));
}

/** [A][B][C] nested rows of a flat tensor. */
function rows3(t: tf.Tensor): number[][][] {
  return t.arraySync() as number[][][];
}

function flat(a: number[][][]): number[] {
  return a.flat(2);
}

function makeLayer(mode: Mode, I: number, H: number, o: nn.RNNOptions = {}): nn.RNNBase {
  if (mode === "LSTM") return new nn.LSTM(I, H, o);
  if (mode === "GRU") return new nn.GRU(I, H, o);
  return new nn.RNN(I, H, { ...o, nonlinearity: mode === "RNN_TANH" ? "tanh" : "relu" });
}

const MODES: Mode[] = ["RNN_TANH", "RNN_RELU", "LSTM", "GRU"];

describe("nn.RNN / nn.LSTM / nn.GRU forward against the documented equations", () => {
  for (const mode of MODES) {
    for (const [L, bidirectional] of [
      [1, false],
      [2, true],
    ] as const) {
      it(`${mode}, ${L} layer(s)${bidirectional ? ", bidirectional" : ""}: output, hN (and cN)`, () => {
        manualSeed(3);
        const [T, B, I, H] = [4, 3, 5, 6];
        const D = bidirectional ? 2 : 1;
        const m = makeLayer(mode, I, H, { numLayers: L, bidirectional });
        const x = spread([T, B, I], 0.1);
        const ref = refForward({ mode, L, D, H }, params(m), rows3(x));
        const [out, hx] = m.forward(x) as [tf.Tensor, tf.Tensor | [tf.Tensor, tf.Tensor]];
        expectClose(out, flat(ref.out), 1e-5, [T, B, D * H]);
        if (mode === "LSTM") {
          const [h, c] = hx as [tf.Tensor, tf.Tensor];
          expectClose(h, flat(ref.hN), 1e-5, [L * D, B, H]);
          expectClose(c, flat(ref.cN), 1e-5, [L * D, B, H]);
        } else {
          expectClose(hx as tf.Tensor, flat(ref.hN), 1e-5, [L * D, B, H]);
        }
      });
    }
  }

  it("given h0 / c0, batchFirst, no bias", () => {
    manualSeed(4);
    const [T, B, I, H, L] = [3, 2, 4, 5, 2];
    const h0 = spread([L * 2, B, H], 0.7, 0.5);
    const c0 = spread([L * 2, B, H], 1.3, 0.5);
    for (const mode of MODES) {
      const m = makeLayer(mode, I, H, { numLayers: L, bidirectional: true, batchFirst: true, bias: false });
      expect(Object.keys(m.stateDict()).some((k) => k.startsWith("bias"))).toBe(false);
      const xb = spread([B, T, I], 0.2); // [B, T, I]
      const xs = rows3(tf.transpose(xb, [1, 0, 2]));
      const ref = refForward({ mode, L, D: 2, H }, params(m), xs, rows3(h0), rows3(c0));
      const res =
        mode === "LSTM" ? (m as nn.LSTM).forward(xb, [h0, c0]) : (m as nn.GRU).forward(xb, h0);
      // Output back in [B, T, 2H]; hN stays [L*D, B, H] with batchFirst, as in PyTorch.
      const refOutBT = Array.from({ length: B }, (_, b) => Array.from({ length: T }, (_, t) => ref.out[t][b]));
      expectClose(res[0], flat(refOutBT), 1e-5, [B, T, 2 * H]);
      const hN = mode === "LSTM" ? (res[1] as [tf.Tensor, tf.Tensor])[0] : (res[1] as tf.Tensor);
      expectClose(hN, flat(ref.hN), 1e-5, [L * 2, B, H]);
      if (mode === "LSTM") expectClose((res[1] as [tf.Tensor, tf.Tensor])[1], flat(ref.cN), 1e-5, [L * 2, B, H]);
    }
  });

  it("unbatched 2-D input [T, in] with 2-D states gives [T, D*H] and [L*D, H]", () => {
    manualSeed(5);
    const [T, I, H] = [4, 3, 2];
    const m = new nn.LSTM(I, H, { numLayers: 2, bidirectional: true });
    const x = spread([T, I], 0.4);
    const h0 = spread([4, H], 0.9, 0.3);
    const c0 = spread([4, H], 1.9, 0.3);
    const [out, [h, c]] = m.forward(x, [h0, c0]);
    const r = (t: tf.Tensor) => rows3(tf.expandDims(t, 1));
    const ref = refForward({ mode: "LSTM", L: 2, D: 2, H }, params(m), r(x), r(h0), r(c0));
    expectClose(out, flat(ref.out), 1e-5, [T, 2 * H]);
    expectClose(h, flat(ref.hN), 1e-5, [4, H]);
    expectClose(c, flat(ref.cN), 1e-5, [4, H]);
    expect(() => m.forward(x, [tf.zeros([4, 1, H]), tf.zeros([4, 1, H])])).toThrow(
      "LSTM: For unbatched 2-D input, hx[0] should also be 2-D but got 3-D tensor",
    );
  });

  it("rejects wrong shapes with PyTorch's messages", () => {
    const m = new nn.GRU(3, 4, { numLayers: 2 });
    expect(() => m.forward(tf.zeros([5, 2, 7]))).toThrow("input.size(-1) must be equal to input_size. Expected 3, got 7");
    expect(() => m.forward(tf.zeros([5, 2, 3]), tf.zeros([1, 2, 4]))).toThrow(
      "Expected hx size [2, 2, 4], got [1, 2, 4]",
    );
    expect(() => m.forward(tf.zeros([3]))).toThrow("Expected input to be 2-D or 3-D but received 1-D tensor");
    expect(() => new nn.RNN(3, 4, { nonlinearity: "sigmoid" as "tanh" })).toThrow("Unknown nonlinearity 'sigmoid'");
  });
});

/** The documented equations with plain tfjs ops, one step at a time (tfjs differentiates them). */
function tfRef(cfg: Cfg, p: Record<string, tf.Tensor>, x: tf.Tensor, h0?: tf.Tensor, c0?: tf.Tensor) {
  const { mode, L, D, H } = cfg;
  const [T, B] = x.shape;
  const lin = (v: tf.Tensor, W: tf.Tensor, b: tf.Tensor | undefined) => {
    const y = tf.matMul(v, tf.transpose(W));
    return b ? tf.add(y, b) : y;
  };
  let steps = tf.unstack(x);
  const hs0 = h0 ? tf.unstack(h0) : null;
  const cs0 = c0 ? tf.unstack(c0) : null;
  const finals: tf.Tensor[] = [];
  for (let l = 0; l < L; l++) {
    const dirOuts: tf.Tensor[][] = [];
    for (let d = 0; d < D; d++) {
      const s = `_l${l}${d ? "_reverse" : ""}`;
      const [Wi, Wh, bi, bh] = [p[`weight_ih${s}`], p[`weight_hh${s}`], p[`bias_ih${s}`], p[`bias_hh${s}`]];
      const blk = (W: tf.Tensor, g: number) => tf.slice(W, [g * H, 0], [H, -1]);
      const bb = (b: tf.Tensor | undefined, g: number) => (b ? tf.slice(b, [g * H], [H]) : undefined);
      let h = hs0 ? hs0[l * D + d] : tf.zeros([B, H]);
      let c = cs0 ? cs0[l * D + d] : tf.zeros([B, H]);
      const out: tf.Tensor[] = new Array(T);
      for (let k = 0; k < T; k++) {
        const t = d ? T - 1 - k : k;
        const xt = steps[t];
        const pre = (g: number) => tf.add(lin(xt, blk(Wi, g), bb(bi, g)), lin(h, blk(Wh, g), bb(bh, g)));
        if (mode === "LSTM") {
          const i = tf.sigmoid(pre(0));
          const f = tf.sigmoid(pre(1));
          const g = tf.tanh(pre(2));
          const o = tf.sigmoid(pre(3));
          c = tf.add(tf.mul(f, c), tf.mul(i, g));
          h = tf.mul(o, tf.tanh(c));
        } else if (mode === "GRU") {
          const r = tf.sigmoid(pre(0));
          const z = tf.sigmoid(pre(1));
          const n = tf.tanh(tf.add(lin(xt, blk(Wi, 2), bb(bi, 2)), tf.mul(r, lin(h, blk(Wh, 2), bb(bh, 2)))));
          h = tf.add(tf.mul(tf.sub(1, z), n), tf.mul(z, h));
        } else {
          h = mode === "RNN_TANH" ? tf.tanh(pre(0)) : tf.relu(pre(0));
        }
        out[t] = h;
      }
      dirOuts.push(out);
      finals.push(h, c);
    }
    steps = Array.from({ length: T }, (_, t) => (D === 2 ? tf.concat([dirOuts[0][t], dirOuts[1][t]], 1) : dirOuts[0][t]));
  }
  return { out: tf.stack(steps), finals };
}

describe("gradients through time", () => {
  for (const mode of MODES) {
    it(`${mode}: loss.backward() equals tf.variableGrads of the step-by-step equations`, () => {
      manualSeed(6);
      const [T, B, I, H, L] = [5, 2, 3, 4, 2];
      const m = makeLayer(mode, I, H, { numLayers: L, bidirectional: true });
      const x = spread([T, B, I], 0.3);
      const h0v = tf.variable(spread([L * 2, B, H], 0.8, 0.5));
      const c0v = tf.variable(spread([L * 2, B, H], 1.1, 0.5));
      const r = spread([T, B, 2 * H], 2.1); // a fixed random-looking weighting of the outputs
      const rh = spread([L * 2, B, H], 2.9);
      const lossOf = (out: tf.Tensor, hN: tf.Tensor, cN?: tf.Tensor) => {
        let loss = tf.add(tf.sum(tf.mul(out, r)), tf.sum(tf.mul(tf.square(hN), rh)));
        if (cN) loss = tf.add(loss, tf.sum(tf.mul(cN, rh)));
        return loss as tf.Scalar;
      };
      const ours = () => {
        if (mode === "LSTM") {
          const [o, [h, c]] = (m as nn.LSTM).forward(x, [h0v, c0v]);
          return lossOf(o, h, c);
        }
        const [o, h] = (m as nn.GRU).forward(x, h0v);
        return lossOf(o, h);
      };
      const ps = [...m.parameters(), h0v, ...(mode === "LSTM" ? [c0v] : [])];
      // The tape agrees with tfjs's own gradient machinery on our layer …
      const got = checkGrads(ours, ps);
      // … and both agree with tfjs's gradients of the documented equations.
      const p = m.stateDict();
      const ref = tf.variableGrads(() => {
        const { out, finals } = tfRef({ mode, L, D: 2, H }, p, x, h0v, c0v);
        const hN = tf.stack(finals.filter((_, i) => i % 2 === 0));
        const cN = tf.stack(finals.filter((_, i) => i % 2 === 1));
        return lossOf(out, hN, mode === "LSTM" ? cN : undefined);
      }, ps);
      expect(relErr([ours().dataSync()[0]], [ref.value.dataSync()[0]])).toBeLessThan(1e-5);
      ps.forEach((v, i) => {
        expect(relErr(vals(got[i]), vals(ref.grads[v.name])), `grad ${i}`).toBeLessThanOrEqual(1e-5);
      });
    });
  }

  it("the input receives its gradient too (embedding -> LSTM, batchFirst)", () => {
    manualSeed(7);
    const m = new nn.LSTM(3, 4, { batchFirst: true });
    const xv = tf.variable(spread([2, 5, 3], 0.5));
    const f = () => tf.sum(tf.square(m.forward(xv)[0])) as tf.Scalar;
    checkGrads(f, [xv, ...m.parameters()]);
    const p = m.stateDict();
    const ref = tf.grad((xs: tf.Tensor) => {
      const { out } = tfRef({ mode: "LSTM", L: 1, D: 1, H: 4 }, p, tf.transpose(xs, [1, 0, 2]));
      return tf.sum(tf.square(out));
    })(xv);
    expect(relErr(vals(xv.grad!), vals(ref))).toBeLessThanOrEqual(1e-5);
  });
});

describe("parameters, initialisation, dropout", () => {
  it("stateDict keys, order and shapes are PyTorch's", () => {
    // PyTorch 1.13: [(k, tuple(v.shape)) for k, v in nn.LSTM(10, 20, num_layers=2,
    // bidirectional=True).state_dict().items()] (shapes from the torch.nn.LSTM docs: weight_ih_l0
    // (4*hidden, input), weight_ih_lk (4*hidden, num_directions*hidden) for k > 0).
    const lstm = new nn.LSTM(10, 20, { numLayers: 2, bidirectional: true });
    const shapes = Object.entries(lstm.stateDict()).map(([k, v]) => [k, v.shape]);
    const expected: Array<[string, number[]]> = [];
    for (const l of [0, 1])
      for (const s of ["", "_reverse"]) {
        expected.push([`weight_ih_l${l}${s}`, [80, l === 0 ? 10 : 40]], [`weight_hh_l${l}${s}`, [80, 20]]);
        expected.push([`bias_ih_l${l}${s}`, [80]], [`bias_hh_l${l}${s}`, [80]]);
      }
    expect(shapes).toEqual(expected);
    expect(Object.keys(new nn.GRU(3, 5).stateDict())).toEqual(["weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0"]);
    expect(new nn.GRU(3, 5).weight_hh_l0.shape).toEqual([15, 5]);
    expect(new nn.RNN(3, 5).weight_ih_l0.shape).toEqual([5, 3]);
    expect(Object.entries(new nn.LSTMCell(3, 5).stateDict()).map(([k, v]) => [k, v.shape])).toEqual([
      ["weight_ih", [20, 3]],
      ["weight_hh", [20, 5]],
      ["bias_ih", [20]],
      ["bias_hh", [20]],
    ]);
    expect(lstm.toString()).toBe("LSTM(10, 20, num_layers=2, bidirectional=True)");
    expect(new nn.GRU(3, 5, { batchFirst: true, dropout: 0.5, numLayers: 2 }).toString()).toBe(
      "GRU(3, 5, num_layers=2, batch_first=True, dropout=0.5)",
    );
    expect(new nn.RNNCell(3, 5, { nonlinearity: "relu" }).toString()).toBe("RNNCell(3, 5, nonlinearity=relu)");
  });

  it("init is U(-1/sqrt(H), 1/sqrt(H)) for every parameter, reproducible under manualSeed", () => {
    manualSeed(11);
    const a = new nn.LSTM(6, 16, { numLayers: 2 });
    manualSeed(11);
    const b = new nn.LSTM(6, 16, { numLayers: 2 });
    const all = a.parameters().flatMap((p) => vals(p));
    expect(Math.max(...all.map(Math.abs))).toBeLessThanOrEqual(0.25);
    expect(Math.max(...all.map(Math.abs))).toBeGreaterThan(0.24); // spans the range
    expect(a.parameters().map((p) => vals(p))).toEqual(b.parameters().map((p) => vals(p)));
  });

  it("dropout between layers only in training (not after the last layer)", () => {
    manualSeed(12);
    const [T, B, I, H] = [4, 3, 2, 8];
    const m = new nn.GRU(I, H, { numLayers: 2, dropout: 0.5 });
    const x = spread([T, B, I], 0.6);
    const ref = refForward({ mode: "GRU", L: 2, D: 1, H }, params(m), rows3(x));
    m.eval();
    expectClose(m.forward(x)[0], flat(ref.out), 1e-5);
    m.train();
    manualSeed(13);
    const t1 = vals(m.forward(x)[0]);
    manualSeed(13);
    const t2 = vals(m.forward(x)[0]);
    expect(t1).toEqual(t2);
    expect(relErr(t1, flat(ref.out))).toBeGreaterThan(1e-3);
    // One layer: nothing to drop between layers, so training equals the equations.
    const one = new nn.GRU(I, H, { dropout: 0.5 });
    expectClose(one.forward(x)[0], flat(refForward({ mode: "GRU", L: 1, D: 1, H }, params(one), rows3(x)).out), 1e-5);
  });
});

describe("nn.RNNCell / nn.LSTMCell / nn.GRUCell", () => {
  for (const mode of MODES) {
    it(`${mode} cell: one documented step, batched and unbatched, gradients`, () => {
      manualSeed(14);
      const [B, I, H] = [3, 4, 5];
      const cell =
        mode === "LSTM"
          ? new nn.LSTMCell(I, H)
          : mode === "GRU"
            ? new nn.GRUCell(I, H)
            : new nn.RNNCell(I, H, { nonlinearity: mode === "RNN_TANH" ? "tanh" : "relu" });
      const p = Object.fromEntries(Object.entries(params(cell)).map(([k, v]) => [`${k}_l0`, v]));
      const x = spread([B, I], 0.2);
      const h = spread([B, H], 0.5, 0.5);
      const c = spread([B, H], 0.9, 0.5);
      const ref = refForward({ mode, L: 1, D: 1, H }, p, [x.arraySync() as number[][]], [h.arraySync() as number[][]], [
        c.arraySync() as number[][],
      ]);
      const run = (xi: tf.Tensor, hi: tf.Tensor, ci: tf.Tensor): tf.Tensor[] =>
        mode === "LSTM" ? (cell as nn.LSTMCell).forward(xi, [hi, ci]) : [(cell as nn.GRUCell).forward(xi, hi)];
      const out = run(x, h, c);
      expectClose(out[0], flat(ref.out), 1e-5, [B, H]);
      if (mode === "LSTM") expectClose(out[1], flat(ref.cN), 1e-5, [B, H]);
      const single = run(tf.slice(x, [1, 0], [1, I]).squeeze([0]), h.slice([1, 0], [1, H]).squeeze([0]), c.slice([1, 0], [1, H]).squeeze([0]));
      expectClose(single[0], ref.out[0][1], 1e-5, [H]);
      const noState = mode === "LSTM" ? (cell as nn.LSTMCell).forward(x)[0] : (cell as nn.GRUCell).forward(x);
      const zeros = [Array.from({ length: B }, () => new Array(H).fill(0))];
      expectClose(noState, flat(refForward({ mode, L: 1, D: 1, H }, p, [x.arraySync() as number[][]], zeros, zeros).out), 1e-5);
      checkGrads(() => tf.sum(tf.square(run(x, h, c)[0])), cell.parameters());
    });
  }
});
