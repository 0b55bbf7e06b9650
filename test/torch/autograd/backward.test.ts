import { describe, it, expect } from "vitest";
import { tf, noGrad } from "lightning-ts/torch";
import { tapeLength } from "../../../src/torch/autograd/tape";
import { maxRelErr, spread } from "./helpers";

function mlp(seed: number) {
  const w1 = tf.variable(spread([6, 5], seed));
  const b1 = tf.variable(spread([5], seed + 1));
  const w2 = tf.variable(spread([5, 3], seed + 2));
  const b2 = tf.variable(spread([3], seed + 3));
  const x = spread([4, 6], seed + 4);
  const f = () => {
    const h = tf.relu(tf.add(tf.matMul(x, w1), b1));
    const out = tf.add(tf.matMul(h, w2), b2);
    return tf.mean(tf.square(tf.sub(tf.sigmoid(out), 0.25))) as tf.Scalar;
  };
  return { params: [w1, b1, w2, b2], f };
}

describe("loss.backward()", () => {
  it("gives exactly tf.variableGrads' gradients", () => {
    const { params, f } = mlp(0);
    const ref = tf.variableGrads(f);
    f().backward();
    for (const p of params) expect(maxRelErr(p.grad!, ref.grads[p.name])).toBeLessThanOrEqual(1e-6);
  });

  it("accumulates into param.grad until zeroGrad-style reset", () => {
    const { params, f } = mlp(1);
    const ref = tf.variableGrads(f);
    f().backward();
    f().backward();
    for (const p of params) expect(maxRelErr(p.grad!, tf.mul(ref.grads[p.name], 2))).toBeLessThanOrEqual(1e-6);
    for (const p of params) p.grad = null;
    f().backward();
    for (const p of params) expect(maxRelErr(p.grad!, ref.grads[p.name])).toBeLessThanOrEqual(1e-6);
  });

  it("skips frozen (non-trainable) variables", () => {
    const w = tf.variable(tf.tensor([1, 2, 3]));
    const frozen = tf.variable(tf.tensor([4, 5, 6]), false);
    tf.sum(tf.mul(w, frozen)).backward();
    expect(Array.from(w.grad!.dataSync())).toEqual([4, 5, 6]);
    expect(frozen.grad).toBeNull();
  });

  it("uses a variable reached through several paths once, summed", () => {
    const w = tf.variable(tf.tensor([2]));
    // d/dw (w*w + 3w) = 2w + 3 = 7
    tf.sum(tf.add(tf.mul(w, w), tf.mul(w, 3))).backward();
    expect(w.grad!.dataSync()[0]).toBeCloseTo(7, 6);
  });

  it("accepts an explicit gradient for a non-scalar output and refuses an implicit one", () => {
    const w = tf.variable(tf.tensor([1, 2]));
    const y = tf.mul(w, 3);
    expect(() => y.backward()).toThrow(/scalar/);
    y.backward({ gradient: tf.tensor([1, 10]) });
    expect(Array.from(w.grad!.dataSync())).toEqual([3, 30]);
  });

  it("refuses a loss that does not require grad", () => {
    const x = tf.tensor([1, 2]);
    expect(() => tf.sum(x).backward()).toThrow(/does not require grad/);
  });

  it("refuses a second backward through a released graph, unless retainGraph", () => {
    const w = tf.variable(tf.tensor([1, 2]));
    const loss = tf.sum(tf.square(w));
    loss.backward();
    expect(() => loss.backward()).toThrow(/second time/);
    const loss2 = tf.sum(tf.square(w));
    w.grad = null;
    loss2.backward({ retainGraph: true });
    loss2.backward();
    expect(Array.from(w.grad!.dataSync())).toEqual([4, 8]);
  });

  it("detach() cuts the graph", () => {
    const w = tf.variable(tf.tensor([3]));
    const y = tf.mul(w, w);
    const z = tf.mul(y.detach(), w); // dz/dw = y (constant) = 9
    expect(y.detach().requiresGrad).toBe(false);
    tf.sum(z).backward();
    expect(w.grad!.dataSync()[0]).toBeCloseTo(9, 5);
  });

  it("gives the generator correct gradients in the standard GAN step", () => {
    // G: z -> z*g ; D: x -> sigmoid(x*d)
    const g = tf.variable(tf.tensor([[0.5, -0.3], [0.2, 0.8]]));
    const d = tf.variable(tf.tensor([[0.7], [-0.4]]));
    const z = spread([3, 2], 7);
    const D = (x: tf.Tensor) => tf.sigmoid(tf.matMul(x, d));
    const fake = tf.matMul(z, g);
    // D step on fake.detach()
    const lossD = tf.mean(tf.log(tf.sub(1, D(fake.detach()))));
    lossD.backward();
    expect(g.grad).toBeNull();
    const dGradFromD = d.grad!.clone();
    d.grad = null;
    // G step through D(fake): the G graph must still be intact.
    const lossG = tf.neg(tf.mean(tf.log(D(fake))));
    lossG.backward();
    const ref = tf.variableGrads(() => tf.neg(tf.mean(tf.log(D(tf.matMul(z, g))))) as tf.Scalar, [g]);
    expect(maxRelErr(g.grad!, ref.grads[g.name])).toBeLessThanOrEqual(1e-6);
    const refD = tf.variableGrads(() => tf.mean(tf.log(tf.sub(1, D(tf.matMul(z, g))))) as tf.Scalar, [d]);
    expect(maxRelErr(dGradFromD, refD.grads[d.name])).toBeLessThanOrEqual(1e-6);
  });

  it("records nothing inside noGrad, so eval code never grows the tape", () => {
    const w = tf.variable(tf.tensor([1, 2]));
    const before = tapeLength();
    const y = noGrad(() => tf.sum(tf.mul(w, w)));
    expect(tapeLength()).toBe(before);
    expect(y.requiresGrad).toBe(false);
    expect(() => y.backward()).toThrow(/does not require grad/);
  });

  it("records nothing for ops on data that needs no grad", () => {
    const before = tapeLength();
    const x = tf.tensor([1, 2, 3]);
    tf.sum(tf.exp(tf.mul(x, 2)));
    expect(tapeLength()).toBe(before);
  });

  it("leaves tf.variableGrads and optimizer.minimize working and isolated", () => {
    const w = tf.variable(tf.tensor([1, -1]));
    const before = tapeLength();
    const opt = tf.train.sgd(0.1);
    opt.minimize(() => tf.sum(tf.square(w)));
    expect(Array.from(w.dataSync())).toEqual([0.8, -0.8].map((v) => Math.fround(v)));
    expect(tapeLength()).toBe(before);
    expect(w.grad).toBeNull();
  });

  it("saves tensors for backward without a kernel dispatch or a tape node each, and they outlive the program's", () => {
    const w = tf.variable(tf.tensor([[0.5, -1], [2, 0.25]]));
    const x = tf.tensor([[1, 2], [-3, 4]]);
    const before = tapeLength();
    let identities = 0;
    const engine = tf.engine() as unknown as { runKernel(name: string, ...rest: unknown[]): unknown };
    const runKernel = engine.runKernel;
    engine.runKernel = function (this: unknown, name: string, ...rest: unknown[]) {
      if (name === "Identity") identities++;
      return runKernel.call(this, name, ...rest);
    };
    let h: tf.Tensor;
    try {
      h = tf.matMul(x, w); // saves x and w
    } finally {
      engine.runKernel = runKernel;
    }
    expect(identities).toBe(0);
    expect(tapeLength() - before).toBe(1); // the product's node only, none for what it saved
    x.dispose(); // the saved copy shares the data and keeps it
    const loss = tf.sum(tf.relu(h));
    loss.backward();
    // d/dw of sum(relu(x·w)): xᵀ·[x·w > 0]; x·w = [[4.5, -0.5], [6.5, 4]]
    expect(Array.from(w.grad!.dataSync())).toEqual([-2, -3, 6, 4]);
  });

  it("releases the saved tensors of the graph it used", () => {
    const w = tf.variable(spread([50, 50]));
    const x = spread([8, 50], 1);
    const warm = tf.sum(tf.relu(tf.matMul(x, w)));
    warm.backward();
    warm.dispose();
    w.grad = null;
    const start = tf.memory().numTensors;
    for (let i = 0; i < 20; i++) {
      const loss = tf.tidy(() => tf.sum(tf.relu(tf.matMul(x, w))));
      loss.backward();
      loss.dispose();
    }
    w.grad = null;
    expect(tf.memory().numTensors).toBe(start);
  });
});

describe("non-differentiable results", () => {
  it("comparisons on parameters are not recorded, so tf.where masks work", () => {
    const w = tf.variable(tf.tensor([-1, 2, -3, 4]));
    const mask = w.greater(0);
    expect(mask.requiresGrad).toBe(false);
    const y = tf.sum(tf.where(mask, tf.mul(w, 2), tf.mul(w, -1)));
    y.backward();
    expect(Array.from(w.grad!.dataSync())).toEqual([-1, 2, -1, 2]);
  });
});
