import { describe, expect, it } from "vitest";
import { tf, data, manualSeed, noGrad } from "../../../src/torch/index";
import { openStepScopeCount } from "../../../src/torch/autograd/step_scope";
import { tapeLength } from "../../../src/torch/autograd/tape";

/**
 * The memory contract: a plain loop over a DataLoader, written without tf.tidy or dispose,
 * keeps tf.memory().numTensors flat, because each batch's step scope is closed when the loop
 * moves on or leaves.
 */

manualSeed(0);
const numFeatures = 16;
const train = new data.SyntheticClassification({ numSamples: 300 * 8, numFeatures, numClasses: 4, seed: 1 });
const val = new data.SyntheticClassification({ numSamples: 80, numFeatures, numClasses: 4, seed: 2 });
const w1 = tf.variable(tf.randomNormal([numFeatures, 32], 0, 0.1, "float32", 3));
const w2 = tf.variable(tf.randomNormal([32, 4], 0, 0.1, "float32", 4));

/** One plain training step: forward, loss, backward, SGD update; nothing disposed by hand. */
function step(x: tf.Tensor, y: tf.Tensor): number {
  const logits = x.matMul(w1).relu().matMul(w2);
  const loss = tf.losses.softmaxCrossEntropy(tf.oneHot(y, 4), logits);
  loss.backward();
  noGrad(() => {
    for (const w of [w1, w2]) {
      w.assign(w.sub(w.grad!.mul(0.1)));
      w.grad = null;
    }
  });
  return loss.item();
}

/** A plain evaluation pass: accuracy from tensors, no dispose. */
function evaluate(loader: data.DataLoader<[tf.Tensor, tf.Tensor]>): number {
  let correct = 0;
  let total = 0;
  for (const [x, y] of loader) {
    const pred = x.matMul(w1).relu().matMul(w2).argMax(1);
    correct += pred.equal(y).sum().item();
    total += y.shape[0];
  }
  return correct / total;
}

describe("step scopes keep plain loops memory-flat", () => {
  it("300 training batches: numTensors constant after warm-up, batches disposed after their step", () => {
    const loader = new data.DataLoader(train, { batchSize: 8, shuffle: true });
    expect(loader.length).toBe(300);
    const counts: number[] = [];
    let previous: tf.Tensor | null = null;
    let losses: number[] = [];
    let i = 0;
    for (const [x, y] of loader) {
      if (previous !== null) expect(previous.isDisposed).toBe(true);
      previous = x;
      losses.push(step(x, y));
      if (++i >= 5) counts.push(tf.memory().numTensors);
    }
    expect(previous!.isDisposed).toBe(true);
    expect(counts.length).toBe(296);
    expect(new Set(counts).size).toBe(1);
    expect(openStepScopeCount()).toBe(0);
    expect(tapeLength()).toBe(0);
    // It did train: the last losses are well below the first.
    const mean = (a: number[]) => a.reduce((s, v) => s + v, 0) / a.length;
    expect(mean(losses.slice(-30))).toBeLessThan(0.5 * mean(losses.slice(0, 30)));
    losses = [];
  });

  it("the count after a whole epoch equals the count before it", () => {
    const loader = new data.DataLoader(train, { batchSize: 8 });
    evaluate(loader); // warm-up (backend caches)
    const before = tf.memory().numTensors;
    for (const [x, y] of loader) step(x, y);
    expect(tf.memory().numTensors).toBe(before);
  });

  it("with break: many early-exited loops leave nothing behind", () => {
    const loader = new data.DataLoader(train, { batchSize: 8, shuffle: true });
    for (const [x, y] of loader) {
      step(x, y);
      break;
    }
    const before = tf.memory().numTensors;
    for (let epoch = 0; epoch < 100; epoch++) {
      let k = 0;
      for (const [x, y] of loader) {
        step(x, y);
        if (++k === 3) break;
      }
    }
    expect(tf.memory().numTensors).toBe(before);
    expect(openStepScopeCount()).toBe(0);
  });

  it("with a throw inside the loop: the scope closes and memory stays flat", () => {
    const loader = new data.DataLoader(train, { batchSize: 8 });
    const before = tf.memory().numTensors;
    for (let r = 0; r < 20; r++) {
      expect(() => {
        for (const [x, y] of loader) {
          x.matMul(w1).add(y.expandDims(1).cast("float32"));
          throw new Error("boom");
        }
      }).toThrow("boom");
    }
    expect(tf.memory().numTensors).toBe(before);
    expect(openStepScopeCount()).toBe(0);
  });

  it("nested loaders: a validation loop inside the training loop", () => {
    const trainLoader = new data.DataLoader(train, { batchSize: 8, shuffle: true });
    const valLoader = new data.DataLoader(val, { batchSize: 16 });
    const counts: number[] = [];
    let i = 0;
    for (const [x, y] of trainLoader) {
      // Counted at the top of the body: the previous step (and any validation pass in it) is over.
      if (i >= 5) counts.push(tf.memory().numTensors);
      i++;
      step(x, y);
      // The outer batch stays alive while the inner loop runs, and is usable after it.
      if (i % 50 === 1) {
        const acc = evaluate(valLoader);
        expect(acc).toBeGreaterThanOrEqual(0);
        expect(x.isDisposed).toBe(false);
        expect(x.sum().item()).toBeTypeOf("number");
      }
    }
    expect(new Set(counts).size).toBe(1);
    expect(openStepScopeCount()).toBe(0);
  });

  it("for await: the same, including an early return", async () => {
    const loader = new data.DataLoader(train, { batchSize: 8, shuffle: true });
    const counts: number[] = [];
    let i = 0;
    for await (const [x, y] of loader) {
      step(x, y);
      await Promise.resolve();
      if (++i >= 5) counts.push(tf.memory().numTensors);
    }
    expect(counts.length).toBe(296);
    expect(new Set(counts).size).toBe(1);
    const before = tf.memory().numTensors;
    const firstLoss = async () => {
      for await (const [x, y] of loader) return step(x, y);
      return NaN;
    };
    for (let r = 0; r < 30; r++) expect(await firstLoss()).toBeGreaterThan(0);
    expect(tf.memory().numTensors).toBe(before);
    expect(openStepScopeCount()).toBe(0);
  });

  it("tf.keep opts a tensor out of the step scope", () => {
    const loader = new data.DataLoader(val, { batchSize: 16 });
    const kept: tf.Tensor[] = [];
    const dropped: tf.Tensor[] = [];
    for (const [x] of loader) {
      kept.push(tf.keep(x.mean()));
      dropped.push(x.mean());
    }
    expect(kept.every((t) => !t.isDisposed)).toBe(true);
    expect(dropped.every((t) => t.isDisposed)).toBe(true);
    kept.forEach((t) => t.dispose());
  });

  it("destructuring one batch closes the iterator, so that batch is already disposed", () => {
    const loader = new data.DataLoader(val, { batchSize: 4 });
    const [[x, y]] = loader;
    expect(x.isDisposed).toBe(true);
    expect(y.isDisposed).toBe(true);
    expect(openStepScopeCount()).toBe(0);
  });
});
