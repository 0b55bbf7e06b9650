/**
 * Every layer and loss SPEC promises trains on WASM: forward values and gradients on the WASM
 * backend (with lightning-ts's shims) equal the pure-JS backend's with tfjs's own kernels, for
 * the raw-op formulations the torch layer uses (NCHW convolutions through transposes, pooling
 * with explicit padding, …), on data of mixed sign.
 */
import { describe, expect, it } from "vitest";
import { selectBackend } from "../../../src/torch/backends/select";
import { withOriginalKernels } from "../../../src/torch/backends/kernels/index";
import { compareWithReference, expectSameResult, ints, maxAbs, mixed, relativeError, tf, type CaseInput } from "./parity";

type Case = [name: string, f: (...xs: tf.Tensor[]) => tf.Tensor, inputs: CaseInput[]];

const nchwConv =
  (stride: number | [number, number], pad: "valid" | "same" | [[number, number], [number, number]]) =>
  (x: tf.Tensor, w: tf.Tensor, b: tf.Tensor) => {
    // nn.Conv2d: NCHW input, OIHW weight → NHWC conv with HWIO filter → NCHW output.
    const padding =
      typeof pad === "string" ? pad : ([[0, 0], pad[0], pad[1], [0, 0]] as [[number, number], [number, number], [number, number], [number, number]]);
    const y = tf.conv2d(
      tf.transpose(x, [0, 2, 3, 1]) as tf.Tensor4D,
      tf.transpose(w, [2, 3, 1, 0]) as tf.Tensor4D,
      stride,
      padding,
    );
    return tf.transpose(tf.add(y, b), [0, 3, 1, 2]);
  };

const toNHWC = (x: tf.Tensor) => tf.transpose(x, [0, 2, 3, 1]) as tf.Tensor4D;
const toNCHW = (x: tf.Tensor) => tf.transpose(x, [0, 3, 1, 2]);

const layerCases: Case[] = [
  ["Linear", (x, w, b) => tf.add(tf.matMul(x, w, false, true), b), [mixed([5, 7]), mixed([4, 7], 1), mixed([4], 2)]],
  ["Conv2d NCHW 3x3 stride 1 pad 1", nchwConv(1, [[1, 1], [1, 1]]), [mixed([2, 3, 8, 8]), mixed([5, 3, 3, 3], 1), mixed([5], 2)]],
  ["Conv2d NCHW 3x3 stride 2 pad 0", nchwConv(2, "valid"), [mixed([2, 3, 9, 9]), mixed([4, 3, 3, 3], 1), mixed([4], 2)]],
  [
    "Conv2d NCHW 3x2 stride (2,1) pad (1,2)",
    nchwConv([2, 1], [[1, 1], [2, 2]]),
    [mixed([2, 2, 7, 6]), mixed([3, 2, 3, 2], 1), mixed([3], 2)],
  ],
  ["Conv2d NCHW 5x5 stride 3 pad 2", nchwConv(3, [[2, 2], [2, 2]]), [mixed([1, 4, 11, 10]), mixed([6, 4, 5, 5], 1), mixed([6], 2)]],
  ["Conv2d NHWC same stride 2", (x, w) => tf.conv2d(x as tf.Tensor4D, w as tf.Tensor4D, 2, "same"), [mixed([2, 7, 8, 3]), mixed([3, 3, 3, 4], 1)]],
  [
    "Conv2d groups=2 (split + concat)",
    (x, w) => {
      const xs = tf.split(x, 2, 3);
      const ws = tf.split(w, 2, 3);
      return tf.concat(xs.map((xi, i) => tf.conv2d(xi as tf.Tensor4D, ws[i] as tf.Tensor4D, 1, "same")), 3);
    },
    [mixed([2, 6, 6, 4]), mixed([3, 3, 2, 6], 1)],
  ],
  [
    "Conv2d groups=in_channels (depthwise, multiplier 2, stride 2)",
    (x, w) => tf.depthwiseConv2d(x as tf.Tensor4D, w as tf.Tensor4D, 2, "same"),
    [mixed([2, 7, 7, 3]), mixed([3, 3, 3, 2], 1)],
  ],
  [
    "Conv2d depthwise multiplier 1 valid",
    (x, w) => tf.depthwiseConv2d(x as tf.Tensor4D, w as tf.Tensor4D, 1, "valid"),
    [mixed([1, 6, 5, 4]), mixed([2, 3, 4, 1], 1)],
  ],
  ["MaxPool2d NCHW k2 s2", (x) => toNCHW(tf.maxPool(toNHWC(x), 2, 2, "valid")), [mixed([2, 3, 8, 8])]],
  [
    "MaxPool2d k3 s2 pad 1 (-inf padding)",
    (x) => toNCHW(tf.maxPool(tf.pad(toNHWC(x), [[0, 0], [1, 1], [1, 1], [0, 0]], -Infinity) as tf.Tensor4D, 3, 2, "valid")),
    [mixed([2, 2, 7, 7])],
  ],
  ["MaxPool2d same padding", (x) => tf.maxPool(x as tf.Tensor4D, 3, 2, "same"), [mixed([1, 6, 6, 3])]],
  ["AvgPool2d NCHW k2 s2", (x) => toNCHW(tf.avgPool(toNHWC(x), 2, 2, "valid")), [mixed([2, 3, 8, 8])]],
  [
    "AvgPool2d k3 s1 pad 1 (count_include_pad)",
    (x) => toNCHW(tf.avgPool(tf.pad(toNHWC(x), [[0, 0], [1, 1], [1, 1], [0, 0]]) as tf.Tensor4D, 3, 1, "valid")),
    [mixed([2, 2, 5, 5])],
  ],
  [
    "Dropout (fixed mask)",
    (x, m) => tf.div(tf.mul(x, m), 0.5),
    [mixed([6, 5]), { shape: [6, 5], values: Array.from({ length: 30 }, (_, i) => (i * 7) % 3 === 0 ? 0 : 1) }],
  ],
  [
    "BatchNorm2d (batch statistics)",
    (x, g, b) => {
      const { mean, variance } = tf.moments(x, [0, 2, 3], true);
      const xhat = tf.mul(tf.sub(x, mean), tf.rsqrt(tf.add(variance, 1e-5)));
      return tf.add(tf.mul(xhat, tf.reshape(g, [1, 3, 1, 1])), tf.reshape(b, [1, 3, 1, 1]));
    },
    [mixed([4, 3, 5, 5]), mixed([3], 1), mixed([3], 2)],
  ],
  [
    "BatchNorm1d (tf.batchNorm)",
    (x, g, b) => {
      const { mean, variance } = tf.moments(x, [0]);
      return tf.batchNorm(x, mean, variance, b, g, 1e-5);
    },
    [mixed([8, 6]), mixed([6], 1), mixed([6], 2)],
  ],
  [
    "LayerNorm",
    (x, g, b) => {
      const { mean, variance } = tf.moments(x, -1, true);
      return tf.add(tf.mul(tf.div(tf.sub(x, mean), tf.sqrt(tf.add(variance, 1e-5))), g), b);
    },
    [mixed([4, 3, 6]), mixed([6], 1), mixed([6], 2)],
  ],
  ["Embedding (repeated ids)", (w, ids) => tf.gather(w, ids), [mixed([10, 4]), ints([2, 3], [1, 7, 1, 0, 9, 7])]],
  ["Flatten", (x) => tf.reshape(x, [x.shape[0], -1]), [mixed([3, 2, 4, 4])]],
];

const activationCases: Case[] = [
  ["ReLU", (x) => tf.relu(x), [mixed([4, 9])]],
  ["GELU (erf)", (x) => tf.mul(tf.mul(x, 0.5), tf.add(tf.erf(tf.div(x, Math.SQRT2)), 1)), [mixed([4, 9])]],
  [
    "GELU (tanh approximation)",
    (x) => tf.mul(tf.mul(x, 0.5), tf.add(tf.tanh(tf.mul(tf.add(x, tf.mul(tf.pow(x, 3), 0.044715)), Math.sqrt(2 / Math.PI))), 1)),
    [mixed([4, 9])],
  ],
  ["Sigmoid", (x) => tf.sigmoid(x), [mixed([4, 9])]],
  ["Tanh", (x) => tf.tanh(x), [mixed([4, 9])]],
  ["LeakyReLU", (x) => tf.leakyRelu(x, 0.01), [mixed([4, 9])]],
  ["ELU", (x) => tf.elu(x), [mixed([4, 9])]],
  ["Softplus", (x) => tf.softplus(x), [mixed([4, 9])]],
  ["softmax", (x) => tf.softmax(tf.mul(x, 3)), [mixed([4, 9])]],
  ["logSoftmax", (x) => tf.logSoftmax(tf.mul(x, 3)), [mixed([4, 9])]],
];

const labels = ints([6], [0, 3, 4, 1, 4, 2]);
const probs = (salt: number): CaseInput => {
  const m = mixed([6, 5], salt);
  return { ...m, values: m.values.map((v) => 0.05 + 0.9 * (v + 1) / 2), grad: false };
};

const lossCases: Case[] = [
  [
    "crossEntropy (logSoftmax + oneHot, mean)",
    (x, y) => tf.neg(tf.mean(tf.sum(tf.mul(tf.logSoftmax(x), tf.oneHot(y as tf.Tensor1D, 5)), -1))),
    [mixed([6, 5]), labels],
  ],
  [
    "nllLoss (gather of flat log-probs, sum)",
    (x, y) => tf.neg(tf.sum(tf.gather(tf.reshape(tf.logSoftmax(x), [-1]), tf.add(tf.mul(tf.range(0, 6, 1, "int32"), tf.scalar(5, "int32")), y)))),
    [mixed([6, 5]), labels],
  ],
  ["mseLoss", (x, t) => tf.mean(tf.squaredDifference(x, t)), [mixed([6, 5]), { ...mixed([6, 5], 3), grad: false }]],
  ["l1Loss", (x, t) => tf.mean(tf.abs(tf.sub(x, t))), [mixed([6, 5]), { ...mixed([6, 5], 3), grad: false }]],
  [
    "binaryCrossEntropy (log clamped at -100)",
    (x, t) => {
      const p = tf.sigmoid(x);
      const logP = tf.maximum(tf.log(p), -100);
      const log1mP = tf.maximum(tf.log1p(tf.neg(p)), -100);
      return tf.neg(tf.mean(tf.add(tf.mul(t, logP), tf.mul(tf.sub(1, t), log1mP))));
    },
    [mixed([6, 5]), probs(4)],
  ],
  [
    "binaryCrossEntropyWithLogits",
    (x, t) => tf.mean(tf.add(tf.sub(tf.relu(x), tf.mul(x, t)), tf.log1p(tf.exp(tf.neg(tf.abs(x)))))),
    [mixed([6, 5]), probs(5)],
  ],
  [
    "klDiv (batchmean)",
    (x, t) => tf.div(tf.sum(tf.mul(t, tf.sub(tf.log(t), tf.logSoftmax(x)))), 6),
    [mixed([6, 5]), probs(6)],
  ],
  [
    "clipGradNorm scale",
    (a, b) => {
      const total = tf.sqrt(tf.add(tf.sum(tf.square(a)), tf.sum(tf.square(b))));
      const scale = tf.minimum(tf.div(0.5, tf.add(total, 1e-6)), 1);
      return tf.concat([tf.reshape(tf.mul(a, scale), [-1]), tf.mul(b, scale)]);
    },
    [mixed([3, 4]), mixed([5], 1)],
  ],
];

describe("WASM trains every SPEC layer like the pure-JS backend", () => {
  for (const [group, cases] of [
    ["layers", layerCases],
    ["activations", activationCases],
    ["losses", lossCases],
  ] as const) {
    describe(group, () => {
      for (const [name, f, inputs] of cases) {
        it(name, async () => {
          const { reference, actual } = await compareWithReference("wasm", f, inputs);
          expectSameResult(actual, reference);
        });
      }
    });
  }

  for (const optimizer of ["sgd", "adam"] as const) {
    it(`${optimizer} steps on a small CNN update the parameters the same way`, async () => {
      const init = [mixed([3, 3, 1, 4], 1), mixed([4 * 4 * 4, 3], 2)];
      const train = (): Float32Array[] => {
        const params = init.map((p) => tf.variable(tf.tensor(p.values, p.shape)));
        const x = tf.tensor(mixed([2, 8, 8, 1], 3).values, [2, 8, 8, 1]) as tf.Tensor4D;
        const y = tf.oneHot(tf.tensor1d([0, 2], "int32"), 3);
        const opt = optimizer === "sgd" ? tf.train.sgd(0.1) : tf.train.adam(0.01);
        for (let i = 0; i < 3; i++) {
          opt.minimize(() => {
            const h = tf.maxPool(tf.relu(tf.conv2d(x, params[0] as tf.Tensor4D, 1, "same")), 2, 2, "valid");
            return tf.losses.softmaxCrossEntropy(y, tf.matMul(tf.reshape(h, [2, -1]), params[1])) as tf.Scalar;
          });
        }
        // The update, not the parameter: a wrong gradient hides in the much larger initial value.
        const deltas = params.map((p, i) => Float32Array.from(p.dataSync(), (v, j) => v - init[i].values[j]));
        opt.dispose();
        tf.dispose([...params, x, y]);
        return deltas;
      };
      await selectBackend("cpu");
      const reference = withOriginalKernels("cpu", train);
      await selectBackend("wasm");
      const actual = train();
      for (let i = 0; i < init.length; i++) {
        expect(maxAbs(reference[i])).toBeGreaterThan(1e-4);
        expect(relativeError(actual[i], reference[i])).toBeLessThanOrEqual(1e-5);
      }
    });
  }
});
