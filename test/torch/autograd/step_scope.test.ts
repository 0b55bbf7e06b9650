import { describe, it, expect } from "vitest";
import { tf, noGrad } from "lightning-ts/torch";
import { openStepScope, closeStepScope, withStepScope } from "../../../src/torch/autograd/step_scope";
import { tapeLength } from "../../../src/torch/autograd/tape";
import { collectGarbage } from "../../../src/torch/autograd/lifetime";
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

/**
 * Lifetimes follow references (lifetime.ts); scopes mark step ends. Counts are read right after
 * a full collection, where they are what the program references: the same every step (Changed
 * by issue 8: they used to be read after the scope's bulk dispose).
 */
describe("step scopes keep a plain loop's memory flat", () => {
  it("250 steps with no tidy or dispose", () => {
    const { params, forward } = model();
    const x = spread([8, 20], 3);
    const y = spread([8, 4], 4);
    const counts: number[] = [];
    for (let step = 0; step < 250; step++) {
      if (step % 25 === 5) {
        collectGarbage();
        counts.push(tf.memory().numTensors);
      }
      const scope = openStepScope();
      const out = forward(x.reshape([8, 20]));
      const loss = tf.mean(tf.square(tf.sub(out, y)));
      loss.backward();
      sgdStep(params, 0.01);
      // The loss is still readable after the step, as in a PyTorch loop that prints it.
      expect(Number.isFinite(loss.item())).toBe(true);
      closeStepScope(scope);
    }
    expect(counts.length).toBe(10);
    // Equal but for a tensor or two V8 may still hold in a register at a collection.
    const median = [...counts].sort((a, b) => a - b)[counts.length >> 1];
    expect(Math.max(...counts)).toBeLessThanOrEqual(median + 6);
    expect(Math.min(...counts.slice(-3))).toBeLessThanOrEqual(median);
    expect(tapeLength()).toBe(0);
  });

  it("eval-mode forward without backward does not leak through the tape", () => {
    const { forward } = model();
    const x = spread([8, 20], 5);
    const counts: number[] = [];
    for (let step = 0; step < 100; step++) {
      if (step % 25 === 2) {
        collectGarbage();
        counts.push(tf.memory().numTensors);
        // The graphs of forwards nothing references any more were dropped with them: 25 forwards
        // of 4 nodes (100) ran since the last sample; the few most recent may survive a
        // collection (V8 can still hold a recent result in a register or an inline cache).
        expect(tapeLength()).toBeLessThanOrEqual(20);
      }
      withStepScope(() => {
        forward(x).sum().item();
      });
    }
    // A leak of one tensor per forward would add 25 between samples; the last two forwards'
    // tensors (5 each, with their saved copies) may still be alive at a collection.
    expect(Math.max(...counts) - Math.min(...counts)).toBeLessThanOrEqual(12);
  });

  // Changed by issue 8: scopes used to dispose what the step made unless tf.keep-ed; now a
  // tensor the program references outlives its step, kept or not.
  it("a tensor returned from a step stays valid, tf.keep or not", () => {
    const kept = withStepScope(() => tf.keep(tf.tensor([1, 2, 3])));
    const plain = withStepScope(() => tf.tensor([1, 2, 3]));
    collectGarbage();
    expect(Array.from(kept.dataSync())).toEqual([1, 2, 3]);
    expect(Array.from(plain.dataSync())).toEqual([1, 2, 3]);
  });

  it("leaves tensors created outside any step alone", () => {
    const outside = tf.tensor([1]);
    withStepScope(() => tf.add(outside, 1));
    expect(outside.isDisposed).toBe(false);
  });

  it("nested scopes: closing the inner one frees nothing the program references", () => {
    const outer = openStepScope();
    const a = tf.tensor([1]);
    const inner = openStepScope();
    const b = tf.tensor([2]);
    closeStepScope(inner);
    collectGarbage();
    expect(b.dataSync()[0]).toBe(2);
    closeStepScope(outer);
    collectGarbage();
    expect(a.dataSync()[0]).toBe(1);
  });
});
