import { describe, it, expect } from "vitest";
import { tf, nn, F } from "lightning-ts/torch";
import * as tfl from "@tensorflow/tfjs-layers";
import { checkGrads, expectClose, spread, vals } from "./helpers";

function makeModel(): tfl.Sequential {
  const model = tfl.sequential();
  model.add(tfl.layers.dense({ units: 5, inputShape: [4], activation: "tanh" }));
  model.add(tfl.layers.batchNormalization());
  model.add(tfl.layers.dense({ units: 3 }));
  return model;
}

describe("nn.fromLayers", () => {
  it("exposes the model's own variables with stable names; moving statistics are buffers", () => {
    const model = makeModel();
    const m = nn.fromLayers(model);
    expect([...m.namedParameters()].map(([n, p]) => [n, p.shape])).toEqual([
      ["0.kernel", [4, 5]],
      ["0.bias", [5]],
      ["1.gamma", [5]],
      ["1.beta", [5]],
      ["2.kernel", [5, 3]],
      ["2.bias", [3]],
    ]);
    expect([...m.namedBuffers()].map(([n]) => n)).toEqual(["1.moving_mean", "1.moving_variance"]);
    // Not copies: the very variables the layers read.
    expect(m.parameters()[0]).toBe(model.layers[0].weights[0].read());
    expect(m).toBeInstanceOf(nn.Module);
  });

  it("forward is model.apply with the module's training flag", () => {
    const model = makeModel();
    const m = nn.fromLayers(model);
    const x = spread([6, 4], 0, 2);
    m.eval();
    expectClose(m.forward(x), vals(model.predict(x) as tf.Tensor), 1e-6, [6, 3]);
    m.train();
    // Training mode normalises with batch statistics, so the output changes.
    const trained = vals(m.forward(x));
    expect(trained).not.toEqual(vals(model.predict(x) as tf.Tensor));
  });

  it("loss.backward() fills the model's variables' grads exactly like tf.variableGrads", () => {
    const m = nn.fromLayers(makeModel());
    const x = spread([6, 4], 0, 2);
    const y = tf.tensor1d([0, 1, 2, 2, 1, 0], "int32");
    m.train();
    checkGrads(() => F.crossEntropy(m.forward(x), y), m.parameters());
    m.eval();
    checkGrads(() => F.crossEntropy(m.forward(x), y), m.parameters());
  });

  it("updating a parameter updates the model; stateDict / loadStateDict round-trip", () => {
    const model = makeModel();
    const m = nn.fromLayers(model);
    m.eval();
    const x = spread([2, 4]);
    const before = vals(model.predict(x) as tf.Tensor);
    const bias = m.stateDict()["2.bias"] as tf.Variable;
    bias.assign(tf.add(bias, 1));
    expectClose(
      model.predict(x) as tf.Tensor,
      before.map((v) => v + 1),
      1e-5,
    );

    const other = nn.fromLayers(makeModel());
    other.loadStateDict(m.stateDict());
    other.eval();
    expectClose(other.forward(x), vals(m.forward(x)), 1e-6);
  });

  it("a frozen layer's weights stay parameters but do not require grad", () => {
    const model = makeModel();
    model.layers[0].trainable = false;
    const m = nn.fromLayers(model);
    const [kernel, bias, gamma] = m.parameters();
    expect(kernel.trainable).toBe(false);
    expect(bias.trainable).toBe(false);
    expect(gamma.trainable).toBe(true);
    m.train();
    gamma.grad = null;
    F.mseLoss(m.forward(spread([4, 4])), tf.zeros([4, 3])).backward();
    // Still frozen after the forward (tfjs-layers' lazy Sequential build would have reset it).
    expect(kernel.trainable).toBe(false);
    expect(kernel.grad).toBeNull();
    expect(gamma.grad).not.toBeNull();
  });

  it("refuses an empty model and a non-model", () => {
    expect(() => nn.fromLayers(tfl.sequential())).toThrow(/the model has no layers/);
    expect(() => nn.fromLayers({} as tfl.LayersModel)).toThrow(/expected a tfjs-layers model/);
  });
});
