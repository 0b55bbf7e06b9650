/**
 * Speed of the replacement kernels, measured in process CPU time (robust on a shared
 * machine), against tfjs's own kernels in the same process.
 */
import { describe, expect, it } from "vitest";
import { selectBackend } from "../../../src/torch/backends/select";
import { withOriginalKernels } from "../../../src/torch/backends/kernels/index";
import { tf } from "./parity";

function cpuMs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}

/** CPU milliseconds of one call of `name`, best of `reps` (after one warm-up). */
function timeKernel(name: string, inputs: Record<string, tf.Tensor>, attrs: Record<string, unknown>, reps: number): number {
  const once = () => tf.dispose(tf.engine().runKernel(name, inputs, attrs as never) as tf.Tensor);
  once();
  let best = Infinity;
  for (let i = 0; i < reps; i++) {
    const t0 = cpuMs();
    once();
    best = Math.min(best, cpuMs() - t0);
  }
  return best;
}

describe("replacement kernel speed", () => {
  it("pure JS: Conv2DBackpropFilter is at least 10x faster than tfjs's own", async () => {
    await selectBackend("cpu");
    const x = tf.randomNormal([4, 14, 14, 32], 0, 1, "float32", 1);
    const dy = tf.randomNormal([4, 14, 14, 64], 0, 1, "float32", 2);
    const attrs = { strides: 1, pad: "same", dataFormat: "NHWC", filterShape: [3, 3, 32, 64] };
    const ours = timeKernel("Conv2DBackpropFilter", { x, dy }, attrs, 3);
    const theirs = withOriginalKernels("cpu", () => timeKernel("Conv2DBackpropFilter", { x, dy }, attrs, 1));
    console.log(`pure-JS Conv2DBackpropFilter [4,14,14,32]->64: ours ${ours.toFixed(0)} ms, tfjs ${theirs.toFixed(0)} ms CPU`);
    expect(theirs / ours).toBeGreaterThan(10);
    tf.dispose([x, dy]);
  });

  it("WASM: Conv2DBackpropInput and MaxPoolGrad beat tfjs's own", async () => {
    await selectBackend("wasm");
    const dy = tf.randomNormal([64, 14, 14, 64], 0, 1, "float32", 3);
    const w = tf.randomNormal([3, 3, 32, 64], 0, 1, "float32", 4);
    const attrs = { strides: 1, pad: "same", dataFormat: "NHWC", inputShape: [64, 14, 14, 32] };
    const ours = timeKernel("Conv2DBackpropInput", { dy, filter: w }, attrs, 3);
    const theirs = withOriginalKernels("wasm", () => timeKernel("Conv2DBackpropInput", { dy, filter: w }, attrs, 2));
    console.log(`WASM Conv2DBackpropInput [64,14,14,64]->32: ours ${ours.toFixed(0)} ms, tfjs ${theirs.toFixed(0)} ms CPU`);
    expect(theirs / ours).toBeGreaterThan(3);

    const h = tf.randomNormal([64, 28, 28, 32], 0, 1, "float32", 5);
    const y = tf.maxPool(h as tf.Tensor4D, 2, 2, "valid");
    const g = tf.randomNormal(y.shape, 0, 1, "float32", 6);
    const poolAttrs = { filterSize: 2, strides: 2, pad: "valid" };
    const poolOurs = timeKernel("MaxPoolGrad", { dy: g, input: h, output: y }, poolAttrs, 3);
    const poolTheirs = withOriginalKernels("wasm", () => timeKernel("MaxPoolGrad", { dy: g, input: h, output: y }, poolAttrs, 3));
    console.log(`WASM MaxPoolGrad [64,28,28,32]: ours ${poolOurs.toFixed(0)} ms, tfjs ${poolTheirs.toFixed(0)} ms CPU`);
    expect(poolOurs).toBeLessThan(poolTheirs);
    tf.dispose([dy, w, h, y, g]);
  });

  it("WASM: the benchmark CNN trains at >= 250 samples per CPU-second", async () => {
    await selectBackend("wasm");
    const p = [
      tf.variable(tf.randomNormal([3, 3, 1, 32], 0, 0.1, "float32", 7)),
      tf.variable(tf.randomNormal([3, 3, 32, 64], 0, 0.05, "float32", 8)),
      tf.variable(tf.randomNormal([3136, 10], 0, 0.02, "float32", 9)),
    ];
    const x = tf.randomUniform([64, 28, 28, 1], 0, 1, "float32", 10) as tf.Tensor4D;
    const y = tf.oneHot(tf.randomUniform([64], 0, 10, "int32", 11) as tf.Tensor1D, 10);
    const opt = tf.train.adam(1e-3);
    const step = () =>
      opt.minimize(() => {
        let h = tf.maxPool(tf.relu(tf.conv2d(x, p[0] as tf.Tensor4D, 1, "same")), 2, 2, "valid");
        h = tf.maxPool(tf.relu(tf.conv2d(h, p[1] as tf.Tensor4D, 1, "same")), 2, 2, "valid");
        return tf.losses.softmaxCrossEntropy(y, tf.matMul(tf.reshape(h, [64, -1]), p[2])) as tf.Scalar;
      });
    step();
    const t0 = cpuMs();
    const steps = 6;
    for (let i = 0; i < steps; i++) step();
    const perCpuSecond = (steps * 64) / ((cpuMs() - t0) / 1000);
    console.log(`WASM CNN: ${perCpuSecond.toFixed(0)} samples per CPU-second`);
    expect(perCpuSecond).toBeGreaterThanOrEqual(250);
    opt.dispose();
    tf.dispose([...p, x, y]);
  });
});
