import { describe, it, expect } from "vitest";
import { tf, nn, manualSeed } from "lightning-ts/torch";
import { checkGrads, expectClose, spread, vals } from "./helpers";
import { naiveMha, swap01, type NaiveMhaArgs } from "./attention_reference";

const E = 4;
const H = 2;

/** Deterministic non-trivial weights and biases (no RNG). */
function setWeights(m: InstanceType<typeof nn.MultiheadAttention>): void {
  for (const [i, [, p]] of [...m.namedParameters()].entries()) p.assign(spread(p.shape, i + 1, 0.7));
}

/** The naive reference's arguments for module `m` and batch-first flat inputs. */
function refArgs(
  m: InstanceType<typeof nn.MultiheadAttention>,
  q: tf.Tensor,
  k: tf.Tensor,
  v: tf.Tensor,
  dims: { n: number; l: number; s: number },
): NaiveMhaArgs {
  const w = m.in_proj_weight ? vals(m.in_proj_weight) : null;
  const b = m.in_proj_bias ? vals(m.in_proj_bias) : null;
  return {
    q: vals(q),
    k: vals(k),
    v: vals(v),
    ...dims,
    e: E,
    heads: H,
    wq: w ? w.slice(0, E * E) : vals(m.q_proj_weight!),
    wk: w ? w.slice(E * E, 2 * E * E) : vals(m.k_proj_weight!),
    wv: w ? w.slice(2 * E * E) : vals(m.v_proj_weight!),
    bq: b ? b.slice(0, E) : null,
    bk: b ? b.slice(E, 2 * E) : null,
    bv: b ? b.slice(2 * E) : null,
    wo: vals(m.out_proj.weight),
    bo: m.out_proj.bias ? vals(m.out_proj.bias) : null,
  };
}

/** Mean over heads of weights [N, H, L, S]. */
function headMean(w: number[], n: number, l: number, s: number): number[] {
  const out = new Array(n * l * s).fill(0);
  for (let b = 0; b < n; b++)
    for (let h = 0; h < H; h++) for (let i = 0; i < l * s; i++) out[b * l * s + i] += w[(b * H + h) * l * s + i] / H;
  return out;
}

describe("nn.MultiheadAttention: parameters", () => {
  it("PyTorch's names, shapes and stateDict order", () => {
    const m = new nn.MultiheadAttention(E, H);
    expect(Object.keys(m.stateDict())).toEqual(["in_proj_weight", "in_proj_bias", "out_proj.weight", "out_proj.bias"]);
    expect(m.in_proj_weight!.shape).toEqual([3 * E, E]);
    expect(m.in_proj_bias!.shape).toEqual([3 * E]);
    expect(m.out_proj).toBeInstanceOf(nn.Linear);
    expect(m.toString()).toBe(
      "MultiheadAttention(\n  (out_proj): NonDynamicallyQuantizableLinear(in_features=4, out_features=4, bias=True)\n)",
    );
    const kv = new nn.MultiheadAttention(E, H, { kdim: 3, vdim: 5 });
    expect(Object.keys(kv.stateDict())).toEqual([
      "q_proj_weight",
      "k_proj_weight",
      "v_proj_weight",
      "in_proj_bias",
      "out_proj.weight",
      "out_proj.bias",
    ]);
    expect([kv.q_proj_weight!.shape, kv.k_proj_weight!.shape, kv.v_proj_weight!.shape]).toEqual([
      [E, E],
      [E, 3],
      [E, 5],
    ]);
    expect(Object.keys(new nn.MultiheadAttention(E, H, { bias: false }).stateDict())).toEqual([
      "in_proj_weight",
      "out_proj.weight",
    ]);
    expect(() => new nn.MultiheadAttention(6, 4)).toThrow("embed_dim must be divisible by num_heads");
  });

  it("init: xavier-uniform in_proj_weight, zero biases, out_proj.weight Linear's kaiming bound", () => {
    manualSeed(3);
    const e = 16;
    const m = new nn.MultiheadAttention(e, 4);
    const w = vals(m.in_proj_weight!);
    const bound = Math.sqrt(6 / (e + 3 * e)); // fan_in = E, fan_out = 3E
    expect(Math.max(...w.map(Math.abs))).toBeLessThanOrEqual(bound);
    expect(Math.max(...w.map(Math.abs))).toBeGreaterThan(0.9 * bound);
    // U(-a, a) has variance a² / 3.
    const variance = w.reduce((s, x) => s + x * x, 0) / w.length;
    expect(Math.abs(variance - bound ** 2 / 3)).toBeLessThan(0.15 * bound ** 2);
    expect(vals(m.in_proj_bias!).every((x) => x === 0)).toBe(true);
    expect(vals(m.out_proj.bias!).every((x) => x === 0)).toBe(true);
    const wo = vals(m.out_proj.weight);
    expect(Math.max(...wo.map(Math.abs))).toBeLessThanOrEqual(1 / Math.sqrt(e));
    manualSeed(3);
    expect(vals(new nn.MultiheadAttention(e, 4).in_proj_weight!)).toEqual(w);
  });
});

describe("nn.MultiheadAttention: forward against the per-head loop", () => {
  const n = 2;
  const l = 3;
  const s = 4;

  it("seq-first cross-attention: output [L, N, E], head-averaged weights [N, L, S]", () => {
    const m = new nn.MultiheadAttention(E, H);
    setWeights(m);
    const q = spread([n, l, E], 0.1);
    const k = spread([n, s, E], 0.2);
    const v = spread([n, s, E], 0.3);
    const ref = naiveMha(refArgs(m, q, k, v, { n, l, s }));
    const [out, w] = m.forward(tf.transpose(q, [1, 0, 2]), tf.transpose(k, [1, 0, 2]), tf.transpose(v, [1, 0, 2]));
    expectClose(out, swap01(ref.out, n, l, E), 1e-5, [l, n, E]);
    expectClose(w!, headMean(ref.weights, n, l, s), 1e-5, [n, l, s]);
    const [, perHead] = m.forward(tf.transpose(q, [1, 0, 2]), tf.transpose(k, [1, 0, 2]), tf.transpose(v, [1, 0, 2]), {
      averageAttnWeights: false,
    });
    expectClose(perHead!, ref.weights, 1e-5, [n, H, l, s]);
    const [, none] = m.forward(tf.transpose(q, [1, 0, 2]), tf.transpose(k, [1, 0, 2]), tf.transpose(v, [1, 0, 2]), {
      needWeights: false,
    });
    expect(none).toBeNull();
  });

  it("batchFirst, unbatched input, and boolean masks (true = blocked) with key padding", () => {
    const m = new nn.MultiheadAttention(E, H, { batchFirst: true });
    setWeights(m);
    const q = spread([n, l, E], 1.1);
    const k = spread([n, s, E], 1.2);
    const v = spread([n, s, E], 1.3);
    const blocked = [
      [false, true, false, false],
      [false, false, true, false],
      [true, false, false, false],
    ];
    const padded = [
      [false, false, false, true],
      [false, true, false, false],
    ];
    const ref = naiveMha({
      ...refArgs(m, q, k, v, { n, l, s }),
      mask: (b, _h, i, j) => (blocked[i][j] || padded[b][j] ? -Infinity : 0),
    });
    const [out, w] = m.forward(q, k, v, {
      attnMask: tf.tensor2d(blocked, undefined, "bool"),
      keyPaddingMask: tf.tensor2d(padded, undefined, "bool"),
    });
    expectClose(out, ref.out, 1e-5, [n, l, E]);
    expectClose(w!, headMean(ref.weights, n, l, s), 1e-5, [n, l, s]);

    // Unbatched: [L, E] in, [L, E] and [L, S] out, equal to batch element 0.
    const ref0 = naiveMha(
      refArgs(m, tf.slice(q, [0], [1]), tf.slice(k, [0], [1]), tf.slice(v, [0], [1]), { n: 1, l, s }),
    );
    const [o1, w1] = m.forward(
      tf.squeeze(tf.slice(q, [0], [1]), [0]),
      tf.squeeze(tf.slice(k, [0], [1]), [0]),
      tf.squeeze(tf.slice(v, [0], [1]), [0]),
    );
    expectClose(o1, ref0.out, 1e-5, [l, E]);
    expectClose(w1!, headMean(ref0.weights, 1, l, s), 1e-5, [l, s]);
  });

  it("float masks are added: a 3-D [N·H, L, S] mask per head (self-attention)", () => {
    const m = new nn.MultiheadAttention(E, H);
    setWeights(m);
    const q = spread([n, l, E], 2.1);
    const m3 = spread([n * H, l, l], 2.5, 2);
    const m3v = vals(m3);
    const ref3 = naiveMha({
      ...refArgs(m, q, q, q, { n, l, s: l }),
      mask: (b, h, i, j) => m3v[((b * H + h) * l + i) * l + j],
    });
    const x = tf.transpose(q, [1, 0, 2]);
    const [out] = m.forward(x, x, x, { attnMask: m3, needWeights: false });
    expectClose(out, swap01(ref3.out, n, l, E), 1e-5, [l, n, E]);
  });

  it("kdim / vdim: separate projection weights", () => {
    const m = new nn.MultiheadAttention(E, H, { kdim: 3, vdim: 5, batchFirst: true });
    setWeights(m);
    const q = spread([n, l, E], 0.4);
    const k = spread([n, s, 3], 0.5);
    const v = spread([n, s, 5], 0.6);
    const ref = naiveMha(refArgs(m, q, k, v, { n, l, s }));
    const [out, w] = m.forward(q, k, v);
    expectClose(out, ref.out, 1e-5, [n, l, E]);
    expectClose(w!, headMean(ref.weights, n, l, s), 1e-5, [n, l, s]);
    expect(() => m.forward(q, q, v)).toThrow(/expected query, key, value/);
  });

  it("dropout acts on the weights in training only: p = 1 leaves out_proj.bias", () => {
    const m = new nn.MultiheadAttention(E, H, { dropout: 1 });
    setWeights(m);
    const x = spread([l, n, E], 0.7);
    const [train] = m.forward(x, x, x);
    const bias = vals(m.out_proj.bias!);
    expectClose(
      train,
      Array.from({ length: l * n * E }, (_, i) => bias[i % E]),
      1e-6,
      [l, n, E],
    );
    m.eval();
    const [evalOut] = m.forward(x, x, x);
    const xb = vals(tf.transpose(x, [1, 0, 2]));
    const ref = naiveMha(refArgs(m, tf.tensor(xb), tf.tensor(xb), tf.tensor(xb), { n, l, s: l }));
    expectClose(evalOut, swap01(ref.out, n, l, E), 1e-5);
  });

  it("backward equals tf.variableGrads (all four parameters)", () => {
    const m = new nn.MultiheadAttention(E, H);
    setWeights(m);
    const x = spread([l, n, E], 0.8);
    const kv = spread([s, n, E], 0.9);
    const r = spread([l, n, E], 1.7);
    const mask = tf.tensor2d([
      [0, -1, 0.5, 0],
      [0, 0, -2, 0],
      [1, 0, 0, 0],
    ]);
    checkGrads(() => tf.sum(tf.mul(m.forward(x, kv, kv, { attnMask: mask })[0], r)), m.parameters());
  });
});
