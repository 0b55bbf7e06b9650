import { describe, it, expect } from "vitest";
import { tf, noGrad } from "lightning-ts/torch";
import { openStepScope, closeStepScope, withStepScope } from "../../../src/torch/autograd/step_scope";
import { tapeLength } from "../../../src/torch/autograd/tape";
import { spread } from "./helpers";

function model() {
  const w1 = tf.variable(spread([20, 16]));
  const w2 = tf.variable(spread([16, 4], 1));
  const forward = (x: tf.Tensor) => tf.matMul(tf.relu(tf.matMul(x, w1)), w2);
  return { params: [w1, w2], forward };
}

function sgdStep(params: tf.Variable[], lr: number) {
  noGrad(() => {
    for (const p of params) {
      if (p.grad) p.assign(tf.sub(p, tf.mul(p.grad, lr)));
      p.grad = null;
    }
  });
}

describe("step scopes keep a plain loop's memory flat", () => {
  it("250 steps with no tidy or dispose", () => {
    const { params, forward } = model();
    const x = spread([8, 20], 3);
    const y = spread([8, 4], 4);
    let start = 0;
    for (let step = 0; step < 250; step++) {
      if (step === 5) start = tf.memory().numTensors;
      const scope = openStepScope();
      const out = forward(x.reshape([8, 20]));
      const loss = tf.mean(tf.square(tf.sub(out, y)));
      loss.backward();
      sgdStep(params, 0.01);
      // The loss is still readable after the step, as in a PyTorch loop that prints it.
      expect(Number.isFinite(loss.item())).toBe(true);
      closeStepScope(scope);
    }
    expect(tf.memory().numTensors).toBe(start);
    expect(tapeLength()).toBe(0);
  });

  it("eval-mode forward without backward does not leak through the tape", () => {
    const { forward } = model();
    const x = spread([8, 20], 5);
    let start = 0;
    for (let step = 0; step < 100; step++) {
      if (step === 2) start = tf.memory().numTensors;
      withStepScope(() => {
        forward(x).sum().item();
      });
    }
    expect(tf.memory().numTensors).toBe(start);
    expect(tapeLength()).toBe(0);
  });

  it("tf.keep opts a tensor out of the step", () => {
    const kept = withStepScope(() => tf.keep(tf.tensor([1, 2, 3])));
    const dropped = withStepScope(() => tf.tensor([1, 2, 3]));
    expect(kept.isDisposed).toBe(false);
    expect(dropped.isDisposed).toBe(true);
  });

  it("leaves tensors created outside any step alone", () => {
    const outside = tf.tensor([1]);
    withStepScope(() => tf.add(outside, 1));
    expect(outside.isDisposed).toBe(false);
  });

  it("nested scopes release inner tensors first and keep the outer ones", () => {
    const outer = openStepScope();
    const a = tf.tensor([1]);
    const inner = openStepScope();
    const b = tf.tensor([2]);
    closeStepScope(inner);
    expect(b.isDisposed).toBe(true);
    expect(a.isDisposed).toBe(false);
    closeStepScope(outer);
    expect(a.isDisposed).toBe(true);
  });
});
