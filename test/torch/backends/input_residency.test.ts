/**
 * Kernel inputs may still live on another backend: tfjs moves a tensor's data the first time a
 * backend reads it. On WASM that move allocates, and an allocation that grows the heap detaches
 * every element array taken before it. A shim must therefore have all its inputs on its own
 * backend before it reads any of them. Large inputs created on the pure-JS backend force both
 * the move and the growth.
 */
import { describe, expect, it } from "vitest";
import { selectBackend } from "../../../src/torch/backends/select";
import { relativeError, tf } from "./parity";
import * as naive from "./naive_reference";

describe("shim inputs created on another backend", () => {
  it("WASM MaxPoolGrad reads inputs that must first move (and grow the heap)", async () => {
    await selectBackend("cpu");
    const [n, h, w, c] = [4, 256, 256, 24]; // 6.3M floats, 25 MB, bigger than WASM's initial heap
    const x = tf.randomNormal([n, h, w, c], 0, 1, "float32", 1);
    const dy = tf.randomNormal([n, h / 2, w / 2, c], 0, 1, "float32", 2);
    const y = tf.maxPool(x as tf.Tensor4D, 2, 2, "valid");
    const xs = x.dataSync();
    const dys = dy.dataSync();
    const g: naive.Geometry = { n, h, w, c, oh: h / 2, ow: w / 2, fh: 2, fw: 2, stride: [2, 2], dilation: [1, 1], pad: [0, 0] };
    const expected = naive.maxPoolGrad(xs, dys, g);

    await selectBackend("wasm");
    const dx = tf.engine().runKernel("MaxPoolGrad", { dy, input: x, output: y }, { filterSize: 2, strides: 2, pad: "valid" } as never) as tf.Tensor;
    expect(relativeError(dx.dataSync(), expected)).toBeLessThanOrEqual(1e-6);
    tf.dispose([x, dy, y, dx]);
  });
});
