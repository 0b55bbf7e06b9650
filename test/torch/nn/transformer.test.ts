import { describe, it, expect } from "vitest";
import { tf, nn, manualSeed } from "lightning-ts/torch";
import { checkGrads, expectClose, spread, vals } from "./helpers";
import { naiveLayerNorm, naiveLinear, naiveMha, swap01 } from "./attention_reference";

const D = 4;
const NHEAD = 2;
const FF = 6;

const LAYER_KEYS = [
  "self_attn.in_proj_weight",
  "self_attn.in_proj_bias",
  "self_attn.out_proj.weight",
  "self_attn.out_proj.bias",
  "linear1.weight",
  "linear1.bias",
  "linear2.weight",
  "linear2.bias",
  "norm1.weight",
  "norm1.bias",
  "norm2.weight",
  "norm2.bias",
];

type Layer = InstanceType<typeof nn.TransformerEncoderLayer>;

function setWeights(m: nn.Module, phase = 0): void {
  for (const [i, [, p]] of [...m.namedParameters()].entries()) p.assign(spread(p.shape, i + 1 + phase, 0.6));
}

/** PyTorch 1.13's encoder layer on batch-first flat x [N, L, D], dropout off. */
function naiveLayer(
  m: Layer,
  x: number[],
  n: number,
  l: number,
  opts: {
    normFirst?: boolean;
    act?: (z: number) => number;
    mask?: (b: number, h: number, i: number, j: number) => number;
  } = {},
): number[] {
  const w = vals(m.self_attn.in_proj_weight!);
  const b = vals(m.self_attn.in_proj_bias!);
  const sa = (y: number[]) =>
    naiveMha({
      q: y,
      k: y,
      v: y,
      n,
      l,
      s: l,
      e: D,
      heads: NHEAD,
      wq: w.slice(0, D * D),
      wk: w.slice(D * D, 2 * D * D),
      wv: w.slice(2 * D * D),
      bq: b.slice(0, D),
      bk: b.slice(D, 2 * D),
      bv: b.slice(2 * D),
      wo: vals(m.self_attn.out_proj.weight),
      bo: vals(m.self_attn.out_proj.bias!),
      mask: opts.mask,
    }).out;
  const act = opts.act ?? ((z: number) => Math.max(0, z));
  const ff = (y: number[]) =>
    naiveLinear(
      naiveLinear(y, n * l, vals(m.linear1.weight), FF, vals(m.linear1.bias!)).map(act),
      n * l,
      vals(m.linear2.weight),
      D,
      vals(m.linear2.bias!),
    );
  const ln1 = (y: number[]) => naiveLayerNorm(y, D, vals(m.norm1.weight!), vals(m.norm1.bias!));
  const ln2 = (y: number[]) => naiveLayerNorm(y, D, vals(m.norm2.weight!), vals(m.norm2.bias!));
  const add = (a: number[], c: number[]) => a.map((v, i) => v + c[i]);
  if (opts.normFirst) {
    const x1 = add(x, sa(ln1(x)));
    return add(x1, ff(ln2(x1)));
  }
  const x1 = ln1(add(x, sa(x)));
  return ln2(add(x1, ff(x1)));
}

const erfGelu = (z: number) => {
  // Abramowitz–Stegun 7.1.26 is too coarse; integrate erf numerically (Simpson, 2000 panels).
  const t = z / Math.SQRT2;
  const steps = 2000;
  const hstep = t / steps;
  let acc = 0;
  for (let i = 0; i <= steps; i++) {
    const u = i * hstep;
    const f = Math.exp(-u * u);
    acc += (i === 0 || i === steps ? 1 : i % 2 ? 4 : 2) * f;
  }
  const erf = ((2 / Math.sqrt(Math.PI)) * acc * hstep) / 3;
  return 0.5 * z * (1 + erf);
};

describe("nn.TransformerEncoderLayer", () => {
  it("PyTorch's submodules, stateDict keys and defaults", () => {
    const layer = new nn.TransformerEncoderLayer(D, NHEAD);
    expect(Object.keys(layer.stateDict())).toEqual(LAYER_KEYS);
    expect(layer.linear1.weight.shape).toEqual([2048, D]);
    expect(layer.dropout.p).toBe(0.1);
    expect(layer.self_attn.dropout).toBe(0.1);
    expect(layer.norm1.eps).toBe(1e-5);
    expect(layer.batchFirst).toBe(false);
    expect(layer.normFirst).toBe(false);
  });

  it("post-norm forward (seq-first) equals the reference, with masks", () => {
    const n = 2;
    const l = 3;
    const layer = new nn.TransformerEncoderLayer(D, NHEAD, { dimFeedforward: FF });
    setWeights(layer);
    layer.eval();
    const x = spread([n, l, D], 0.3, 1.5);
    const xs = tf.transpose(x, [1, 0, 2]);
    expectClose(layer.forward(xs), swap01(naiveLayer(layer, vals(x), n, l), n, l, D), 1e-5, [l, n, D]);

    const causal = tf.tensor2d([
      [0, -Infinity, -Infinity],
      [0, 0, -Infinity],
      [0, 0, 0],
    ]);
    const pad = tf.tensor2d(
      [
        [false, false, true],
        [false, false, false],
      ],
      undefined,
      "bool",
    );
    const ref = naiveLayer(layer, vals(x), n, l, {
      mask: (b, _h, i, j) => (j > i || (b === 0 && j === 2) ? -Infinity : 0),
    });
    expectClose(layer.forward(xs, { srcMask: causal, srcKeyPaddingMask: pad }), swap01(ref, n, l, D), 1e-5);
  });

  it("normFirst, gelu and batchFirst", () => {
    const n = 2;
    const l = 3;
    const layer = new nn.TransformerEncoderLayer(D, NHEAD, {
      dimFeedforward: FF,
      activation: "gelu",
      normFirst: true,
      batchFirst: true,
      dropout: 0,
    });
    setWeights(layer, 5);
    const x = spread([n, l, D], 0.7, 1.5);
    expectClose(layer.forward(x), naiveLayer(layer, vals(x), n, l, { normFirst: true, act: erfGelu }), 1e-5, [n, l, D]);
  });

  it("backward equals tf.variableGrads", () => {
    const layer = new nn.TransformerEncoderLayer(D, NHEAD, { dimFeedforward: FF, dropout: 0 });
    setWeights(layer, 2);
    const x = spread([3, 2, D], 0.9, 1.5);
    const r = spread([3, 2, D], 1.9);
    checkGrads(() => tf.sum(tf.mul(layer.forward(x), r)), layer.parameters());
  });
});

describe("nn.TransformerEncoder", () => {
  it("deep copies of the layer under layers.N, then norm; copies are independent", () => {
    manualSeed(0);
    const layer = new nn.TransformerEncoderLayer(D, NHEAD, { dimFeedforward: FF });
    const enc = new nn.TransformerEncoder(layer, 2, { norm: new nn.LayerNorm(D) });
    expect(Object.keys(enc.stateDict())).toEqual([
      ...LAYER_KEYS.map((k) => `layers.0.${k}`),
      ...LAYER_KEYS.map((k) => `layers.1.${k}`),
      "norm.weight",
      "norm.bias",
    ]);
    const l0 = enc.layers.get(0);
    const l1 = enc.layers.get(1);
    expect(l0).toBeInstanceOf(nn.TransformerEncoderLayer);
    expect(l0).not.toBe(layer);
    expect(l0.linear1.weight).not.toBe(l1.linear1.weight);
    expect(vals(l0.linear1.weight)).toEqual(vals(layer.linear1.weight));
    expect(vals(l1.self_attn.in_proj_weight!)).toEqual(vals(layer.self_attn.in_proj_weight!));
    l0.linear1.weight.assign(tf.zerosLike(l0.linear1.weight));
    expect(vals(l1.linear1.weight)).toEqual(vals(layer.linear1.weight));
    expect(enc.parameters()).toHaveLength(2 * 12 + 2);
    expect(enc.numLayers).toBe(2);
  });

  it("forward runs the layers in order, then the norm; mask and key padding reach every layer", () => {
    const n = 2;
    const l = 3;
    const enc = new nn.TransformerEncoder(
      new nn.TransformerEncoderLayer(D, NHEAD, { dimFeedforward: FF, dropout: 0 }),
      2,
      {
        norm: new nn.LayerNorm(D),
      },
    );
    setWeights(enc);
    const x = spread([n, l, D], 0.2, 1.5);
    const mask = (b: number, _h: number, i: number, j: number) => (j > i || (b === 1 && j === 1) ? -Infinity : 0);
    let ref = naiveLayer(enc.layers.get(0), vals(x), n, l, { mask });
    ref = naiveLayer(enc.layers.get(1), ref, n, l, { mask });
    const norm = enc.norm as InstanceType<typeof nn.LayerNorm>;
    ref = naiveLayerNorm(ref, D, vals(norm.weight!), vals(norm.bias!));
    const out = enc.forward(tf.transpose(x, [1, 0, 2]), {
      mask: tf.tensor2d(
        [
          [false, true, true],
          [false, false, true],
          [false, false, false],
        ],
        undefined,
        "bool",
      ),
      srcKeyPaddingMask: tf.tensor2d(
        [
          [false, false, false],
          [false, true, false],
        ],
        undefined,
        "bool",
      ),
    });
    expectClose(out, swap01(ref, n, l, D), 1e-5, [l, n, D]);
    checkGrads(() => tf.sum(tf.square(enc.forward(tf.transpose(x, [1, 0, 2])))), enc.parameters());
  });
});
