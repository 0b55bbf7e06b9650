import { describe, it, expect, afterEach } from "vitest";
import { tf, nn, F, manualSeed, ready } from "lightning-ts/torch";
import { setLeanDispatch } from "../../../src/torch/autograd/kernel_dispatch";
import { tape, tapeLength } from "../../../src/torch/autograd/tape";
import { collectGarbage } from "../../../src/torch/autograd/lifetime";

await ready();

afterEach(() => {
  setLeanDispatch(true);
});

/** One training step's forward and backward, with what the tape and the engine saw. */
function step(lean: boolean) {
  setLeanDispatch(lean);
  collectGarbage();
  const tensorsBefore = tf.memory().numTensors;
  manualSeed(3);
  const model = new nn.Sequential(new nn.Conv2d(1, 3, 3), new nn.ReLU(), new nn.Flatten(), new nn.Linear(3 * 4 * 4, 5));
  const x = tf.randomNormal([4, 1, 6, 6], 0, 1, "float32", 7);
  const y = tf.tensor1d([0, 3, 1, 4], "int32");
  const before = tapeLength();
  const loss = F.crossEntropy(model.forward(x), y);
  const nodes = tape()
    .slice(before)
    .map((n) => `${n.kernelName}:${n.saved.length}`);
  const tensorsMade = tf.memory().numTensors - tensorsBefore;
  loss.backward();
  const grads = model.parameters().map((p) => Array.from(p.grad!.dataSync()));
  return { loss: loss.item(), nodes, tensorsMade, grads };
}

describe("lean kernel dispatch", () => {
  it("records the same nodes, saves the same tensors and gives the same bits as tfjs's dispatch", () => {
    const viaTfjs = step(false);
    const lean = step(true);
    expect(lean.nodes.length).toBeGreaterThan(4);
    expect(lean.nodes).toEqual(viaTfjs.nodes);
    expect(lean.loss).toBe(viaTfjs.loss);
    expect(lean.grads).toEqual(viaTfjs.grads);
  });

  it("keeps as many tensors alive (outputs, saved for backward) as tfjs's dispatch", () => {
    const viaTfjs = step(false);
    const lean = step(true);
    expect(lean.tensorsMade).toBeGreaterThan(0);
    expect(lean.tensorsMade).toBe(viaTfjs.tensorsMade);
  });

  it("records nothing for inputs that do not require grad", () => {
    const before = tapeLength();
    tf.relu(tf.matMul(tf.ones([2, 2]), tf.ones([2, 2])));
    expect(tapeLength()).toBe(before);
  });

  it("leaves the kernel depth as it was when a kernel throws, so later ops still record", () => {
    tf.registerKernel({
      kernelName: "LightningTsThrowingKernel",
      backendName: tf.getBackend(),
      kernelFunc: () => {
        throw new Error("kernel failed");
      },
    });
    try {
      const w = tf.variable(tf.ones([2]));
      expect(() => tf.engine().runKernel("LightningTsThrowingKernel", { x: w }, {})).toThrow("kernel failed");
      const state = (tf.engine() as unknown as { state: { kernelDepth: number } }).state;
      expect(state.kernelDepth).toBe(0);
      const before = tapeLength();
      tf.mul(w, 2);
      expect(tapeLength()).toBe(before + 1);
    } finally {
      tf.unregisterKernel("LightningTsThrowingKernel", tf.getBackend());
    }
  });

  it("gives tfjs's error for a kernel the backend lacks", () => {
    expect(() => tf.engine().runKernel("LightningTsNoSuchKernel", { x: tf.ones([1]) }, {})).toThrow(
      `Kernel 'LightningTsNoSuchKernel' not registered for backend '${tf.getBackend()}'`,
    );
  });

  it("leaves tfjs's profiler and tf.grad to tfjs's dispatch", async () => {
    const a = tf.ones([3]);
    const info = await tf.profile(() => tf.relu(tf.add(a, a)));
    expect(info.kernels.map((k) => k.name)).toEqual(["Add", "Relu"]);
    const g = tf.grad((x: tf.Tensor) => tf.sum(tf.mul(x, x)))(tf.tensor1d([1, 2, 3]));
    expect(Array.from(g.dataSync())).toEqual([2, 4, 6]);
  });
});
