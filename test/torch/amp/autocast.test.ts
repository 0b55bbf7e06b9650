import { describe, expect, it } from "vitest";
import { tf, nn, F, amp, autocast, noGrad } from "lightning-ts/torch";
import { selectBackend } from "../../../src/torch/backends/select";

const { roundTensorToHalf, withRounding, roundingUnsupportedReason } = amp;

function values(t: tf.Tensor): number[] {
  return Array.from(t.dataSync());
}

/** Deterministic values spread over several binades, so 16-bit rounding changes most of them. */
function spread(shape: number[], phase = 0): tf.Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  return tf.tensor(Array.from({ length: n }, (_, i) => Math.sin(1.37 * i + phase) * 3.1), shape);
}

const r16 = (t: tf.Tensor) => roundTensorToHalf(t, "float16");

for (const backend of ["wasm", "cpu"] as const) {
  describe(`autocast on ${backend}`, () => {
    it("a matrix product takes rounded inputs and gives a rounded output; the inputs are left as they were", async () => {
      await selectBackend(backend);
      const a = spread([5, 7]);
      const b = spread([7, 3], 1);
      const before = values(a);
      const got = autocast({ dtype: "float16" }, () => tf.matMul(a, b));
      const expected = r16(tf.matMul(r16(a), r16(b)));
      expect(values(got)).toEqual(values(expected));
      expect(values(got)).not.toEqual(values(tf.matMul(a, b)));
      expect(values(a)).toEqual(before);
      // transposed operands (what nn.Linear's forward and backward use) too
      const gotT = autocast({ dtype: "float16" }, () => tf.matMul(a, spread([3, 7], 2), false, true));
      expect(values(gotT)).toEqual(values(r16(tf.matMul(r16(a), r16(spread([3, 7], 2)), false, true))));
    });

    it("a convolution and its gradients are rounded once, however the kernel computes them inside", async () => {
      await selectBackend(backend);
      const x = spread([2, 6, 6, 3]);
      const w = spread([3, 3, 3, 4], 0.5);
      const dy = spread([2, 6, 6, 4], 0.25);
      const f = () => tf.conv2d(x as tf.Tensor4D, w as tf.Tensor4D, 1, "same");
      expect(values(autocast({}, f))).toEqual(values(r16(tf.conv2d(r16(x) as tf.Tensor4D, r16(w) as tf.Tensor4D, 1, "same"))));
      const filterGrad = (xx: tf.Tensor, d: tf.Tensor) =>
        tf.engine().runKernel("Conv2DBackpropFilter", { x: xx, dy: d }, { strides: [1, 1], pad: "same", dataFormat: "NHWC", dilations: [1, 1], filterShape: [3, 3, 3, 4] }) as tf.Tensor;
      expect(values(autocast({}, () => filterGrad(x, dy)))).toEqual(values(r16(filterGrad(r16(x), r16(dy)))));
    });

    it("F.linear and a biased convolution round product + bias once, as addmm does", async () => {
      await selectBackend(backend);
      const x = spread([5, 7]);
      const w = spread([3, 7], 1);
      const b = spread([3], 2);
      const got = autocast({}, () => F.linear(x, w, b));
      expect(values(got)).toEqual(values(r16(tf.add(tf.matMul(r16(x), r16(w), false, true), r16(b)))));
      const conv = new nn.Conv2d(2, 3, 3, { padding: 1 });
      const img = spread([1, 2, 5, 5], 3);
      const gotConv = autocast({}, () => conv.forward(img));
      const plain = (t: tf.Tensor, weight: tf.Tensor, bias: tf.Tensor) =>
        tf.add(tf.transpose(tf.conv2d(tf.transpose(t, [0, 2, 3, 1]) as tf.Tensor4D, tf.transpose(weight, [2, 3, 1, 0]) as tf.Tensor4D, 1, 1), [0, 3, 1, 2]), tf.reshape(bias, [1, 3, 1, 1]));
      expect(values(gotConv)).toEqual(values(r16(plain(r16(img), r16(conv.weight), r16(conv.bias!)))));
    });

    it("ops off the lower-precision list compute in float32", async () => {
      await selectBackend(backend);
      const x = spread([4, 5]);
      for (const op of [(t: tf.Tensor) => tf.exp(t), (t: tf.Tensor) => tf.softmax(t), (t: tf.Tensor) => tf.sum(t, 1), (t: tf.Tensor) => tf.add(t, 1e-3)]) {
        expect(values(autocast({}, () => op(x)))).toEqual(values(op(x)));
      }
    });

    it("bfloat16 keeps 8 significant bits", async () => {
      await selectBackend(backend);
      const a = spread([4, 4]);
      const got = autocast({ dtype: "bfloat16" }, () => tf.matMul(a, a));
      expect(values(got)).toEqual(values(roundTensorToHalf(tf.matMul(roundTensorToHalf(a, "bfloat16"), roundTensorToHalf(a, "bfloat16")), "bfloat16")));
      expect(values(got)).not.toEqual(values(autocast({ dtype: "float16" }, () => tf.matMul(a, a))));
    });

    it("the gradient through a 16-bit product is 16-bit: a small one underflows in float16, and scaling the loss saves it", async () => {
      await selectBackend(backend);
      const lin = new nn.Linear(4, 3);
      const x = spread([2, 4]);
      const gradOf = (scale: number) => {
        lin.zeroGrad();
        const loss = withRounding({ format: "float16", scope: "autocast" }, () => {
          // a loss whose gradient at the layer's output is ~1e-8: below float16's 2^-24 ≈ 6e-8
          const l = tf.mul(tf.sum(F.linear(x, lin.weight, lin.bias)), 1e-8 * scale);
          l.backward();
          return l;
        });
        loss.dispose();
        return values(lin.weight.grad!).map((g) => g / scale);
      };
      expect(gradOf(1).every((g) => g === 0)).toBe(true);
      const scaled = gradOf(65536);
      const exact = (() => {
        lin.zeroGrad();
        tf.mul(tf.sum(F.linear(x, lin.weight, lin.bias)), 1e-8).backward();
        return values(lin.weight.grad!);
      })();
      expect(scaled.every((g) => g !== 0)).toBe(true);
      for (let i = 0; i < exact.length; i++) expect(Math.abs(scaled[i]! - exact[i]!)).toBeLessThanOrEqual(Math.abs(exact[i]!) * 2 ** -10);
    });

    it('"all" rounds every float output, and never the data a reshape shares with its input', async () => {
      await selectBackend(backend);
      const x = spread([3, 4]);
      const before = values(x);
      const mode = { format: "float16" as const, scope: "all" as const };
      expect(values(withRounding(mode, () => tf.add(x, 0.001)))).toEqual(values(r16(tf.add(x, 0.001))));
      expect(values(withRounding(mode, () => tf.exp(x)))).toEqual(values(r16(tf.exp(x))));
      const reshaped = withRounding(mode, () => x.reshape([12]));
      expect(values(reshaped)).toEqual(before);
      expect(values(x)).toEqual(before);
    });
  });
}

describe("autocast's rules", () => {
  it("F.binaryCrossEntropy is refused inside autocast with PyTorch's reason, and works outside", () => {
    const p = tf.tensor([0.2, 0.9]);
    const t = tf.tensor([0, 1]);
    expect(() => autocast({}, () => F.binaryCrossEntropy(p, t))).toThrow(/unsafe to autocast[\s\S]*binaryCrossEntropyWithLogits/);
    expect(() => autocast({ enabled: false }, () => F.binaryCrossEntropy(p, t))).not.toThrow();
    expect(() => autocast({}, () => F.binaryCrossEntropyWithLogits(p, t))).not.toThrow();
    expect(() => noGrad(() => F.binaryCrossEntropy(p, t))).not.toThrow();
  });

  it("the mode lasts until an async block settles, and ends after it", async () => {
    const a = spread([3, 3]);
    const inside = await autocast({}, async () => {
      await new Promise((r) => setTimeout(r, 1));
      return values(tf.matMul(a, a));
    });
    expect(inside).toEqual(values(r16(tf.matMul(r16(a), r16(a)))));
    expect(values(tf.matMul(a, a))).not.toEqual(inside);
  });

  it("a backend without the rounding kernels is named, with what to do", () => {
    expect(roundingUnsupportedReason("tensorflow")).toMatch(
      /16-bit precision is emulated on the cpu, wasm and webgpu backends only; the tensorflow backend has no 16-bit rounding kernel yet: use precision "32-true", or LIGHTNING_TS_BACKEND=wasm/,
    );
    for (const backend of ["wasm", "cpu", "webgpu"]) expect(roundingUnsupportedReason(backend)).toBeNull();
  });
});
