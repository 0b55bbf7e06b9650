import { describe, it, expect } from "vitest";
import { tf, nn } from "lightning-ts/torch";
import { expectClose } from "./helpers";

/**
 * MultiheadAttention, TransformerEncoderLayer and TransformerEncoder against PyTorch 1.13
 * itself (Debian's python3-torch, float64), on fixed weights. The numbers below were printed by
 * this script (/usr/bin/python3):
 *
 * import math, torch
 * torch.set_printoptions(precision=10)
 * def spread(shape, phase, scale):
 *     n = 1
 *     for d in shape: n *= d
 *     return torch.tensor([scale * math.sin(1.7 * i + 0.3 + phase) for i in range(n)], dtype=torch.float64).reshape(shape)
 * def set_weights(m, phase=0.0):
 *     with torch.no_grad():
 *         for i, (_, p) in enumerate(m.named_parameters()):
 *             p.copy_(spread(p.shape, i + 1 + phase, 0.6))
 * mha = torch.nn.MultiheadAttention(4, 2).double()
 * set_weights(mha)
 * x = spread([3, 2, 4], 0.25, 1.5)      # [L, N, E]
 * kv = spread([5, 2, 4], 0.5, 1.5)      # [S, N, E]
 * kpm = torch.tensor([[False, False, False, True, False], [True, False, False, False, False]])
 * am = torch.tensor([[False, True, False, False, False], [False, False, False, False, True], [False, False, True, False, False]])
 * out, w = mha(x, kv, kv, key_padding_mask=kpm, attn_mask=am)
 * print("mha_out", [round(v, 10) for v in out.flatten().tolist()])
 * print("mha_w", [round(v, 10) for v in w.flatten().tolist()])
 * layer = torch.nn.TransformerEncoderLayer(4, 2, dim_feedforward=6, dropout=0.0).double()
 * set_weights(layer, 3.0)
 * layer.eval()
 * enc = torch.nn.TransformerEncoder(layer, 2, norm=torch.nn.LayerNorm(4).double(), enable_nested_tensor=False)
 * set_weights(enc, 7.0)
 * enc.eval()
 * src = spread([3, 2, 4], 0.75, 1.5)
 * causal = torch.nn.Transformer.generate_square_subsequent_mask(3).double()
 * print("layer_out", [round(v, 10) for v in layer(src, src_mask=causal).flatten().tolist()])
 * print("enc_out", [round(v, 10) for v in enc(src, mask=causal, src_key_padding_mask=torch.tensor([[False, False, True], [False, False, False]])).flatten().tolist()])
 * print(list(enc.state_dict().keys()))
 */

const MHA_OUT = [
  1.4024899126, 1.7031215418, 1.8935984135, 0.4057406523, 0.2759045541, 0.6435575191, 1.1778191677, 0.2207113151,
  1.0621845199, 1.3576989608, 1.6332847562, 0.2985311526, -0.0602967425, 0.3358362079, 0.9789561928, 0.1826506838,
  -0.5765871861, -0.1984887315, 0.5661651138, -0.0007834331, -0.2759043153, 0.1041471118, 0.7917039283, 0.0887464822,
];
const MHA_W = [
  0.3264992244, 0.0, 0.5846898111, 0.0, 0.0888109645, 0.1197208312, 0.0563650645, 0.8239141043, 0.0, 0.0, 0.0239781386,
  0.1369974494, 0.0, 0.0, 0.839024412, 0.0, 0.0, 0.502854811, 0.3094906912, 0.1876544978, 0.0, 0.0369617001,
  0.3675172849, 0.595521015, 0.0, 0.0, 0.171870563, 0.0, 0.4840400826, 0.3440893544,
];
const LAYER_OUT = [
  -0.2756588429, -0.8694029807, 0.0617643301, 0.4272867634, -0.227721473, -0.8646970371, -0.0289666246, 0.3584216934,
  -0.1610161529, -0.8556890409, -0.1051200583, 0.2957795788, 0.0479243808, -0.8137776446, -0.2701776716, 0.1665637039,
  0.3572455452, -0.7308041002, -0.4107027074, 0.0728018028, 0.4700755115, -0.7237156024, -0.3430794393, 0.0646313104,
];
const ENC_OUT = [
  0.2661642026, 0.1094736106, -0.9297797059, 0.6126478085, 0.2615965574, 0.096418053, -0.9573666464, 0.6125724057,
  0.2636883849, 0.0866463644, -0.9754426858, 0.6137825961, 0.2643118167, 0.0862744475, -0.975934624, 0.6139723677,
  0.2624471212, 0.1054277742, -0.9392524209, 0.6120466484, 0.2787666297, 0.1215806217, -0.8999921802, 0.6145436785,
];

/** The script's `spread` (computed here in float64, then stored as float32). */
function spread(shape: number[], phase: number, scale: number): tf.Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  return tf.tensor(
    Array.from({ length: n }, (_, i) => scale * Math.sin(1.7 * i + 0.3 + phase)),
    shape,
  );
}

function setWeights(m: nn.Module, phase = 0): void {
  for (const [i, [, p]] of [...m.namedParameters()].entries()) p.assign(spread(p.shape, i + 1 + phase, 0.6));
}

// float32 against float64 PyTorch: inputs carry 6e-8 relative rounding, a few ops deep.
// Measured: every element within 1e-6; 5e-6 leaves room for another backend's summation order.
const TOL = 5e-6;

describe("attention layers against PyTorch 1.13", () => {
  it("MultiheadAttention: cross-attention with boolean attn_mask and key_padding_mask", () => {
    const mha = new nn.MultiheadAttention(4, 2);
    setWeights(mha);
    const kpm = tf.tensor2d(
      [
        [false, false, false, true, false],
        [true, false, false, false, false],
      ],
      undefined,
      "bool",
    );
    const am = tf.tensor2d(
      [
        [false, true, false, false, false],
        [false, false, false, false, true],
        [false, false, true, false, false],
      ],
      undefined,
      "bool",
    );
    const kv = spread([5, 2, 4], 0.5, 1.5);
    const [out, w] = mha.forward(spread([3, 2, 4], 0.25, 1.5), kv, kv, { keyPaddingMask: kpm, attnMask: am });
    expectClose(out, MHA_OUT, TOL, [3, 2, 4]);
    expectClose(w!, MHA_W, TOL, [2, 3, 5]);
  });

  it("TransformerEncoderLayer (post-norm, causal float mask) and TransformerEncoder (2 layers + norm)", () => {
    const layer = new nn.TransformerEncoderLayer(4, 2, { dimFeedforward: 6, dropout: 0 });
    setWeights(layer, 3);
    layer.eval();
    const src = spread([3, 2, 4], 0.75, 1.5);
    const causal = tf.tensor2d([
      [0, -Infinity, -Infinity],
      [0, 0, -Infinity],
      [0, 0, 0],
    ]);
    expectClose(layer.forward(src, { srcMask: causal }), LAYER_OUT, TOL, [3, 2, 4]);

    const enc = new nn.TransformerEncoder(layer, 2, { norm: new nn.LayerNorm(4) });
    setWeights(enc, 7);
    enc.eval();
    const pad = tf.tensor2d(
      [
        [false, false, true],
        [false, false, false],
      ],
      undefined,
      "bool",
    );
    expectClose(enc.forward(src, { mask: causal, srcKeyPaddingMask: pad }), ENC_OUT, TOL, [3, 2, 4]);
    expect(Object.keys(enc.stateDict())).toEqual([
      "layers.0.self_attn.in_proj_weight",
      "layers.0.self_attn.in_proj_bias",
      "layers.0.self_attn.out_proj.weight",
      "layers.0.self_attn.out_proj.bias",
      "layers.0.linear1.weight",
      "layers.0.linear1.bias",
      "layers.0.linear2.weight",
      "layers.0.linear2.bias",
      "layers.0.norm1.weight",
      "layers.0.norm1.bias",
      "layers.0.norm2.weight",
      "layers.0.norm2.bias",
      "layers.1.self_attn.in_proj_weight",
      "layers.1.self_attn.in_proj_bias",
      "layers.1.self_attn.out_proj.weight",
      "layers.1.self_attn.out_proj.bias",
      "layers.1.linear1.weight",
      "layers.1.linear1.bias",
      "layers.1.linear2.weight",
      "layers.1.linear2.bias",
      "layers.1.norm1.weight",
      "layers.1.norm1.bias",
      "layers.1.norm2.weight",
      "layers.1.norm2.bias",
      "norm.weight",
      "norm.bias",
    ]);
  });
});
