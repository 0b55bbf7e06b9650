import { describe, expect, it } from "vitest";
import { tf, data, manualSeed, noGrad } from "../../../src/torch/index";
import { openStepScopeCount } from "../../../src/torch/autograd/step_scope";
import { tapeLength } from "../../../src/torch/autograd/tape";
import { collectGarbage } from "../../../src/torch/autograd/lifetime";

/**
 * The memory contract: a plain loop over a DataLoader, written without tf.tidy or dispose,
 * keeps tf.memory().numTensors flat; what the program references stays valid (lifetime.ts).
 * Changed by issue 8: counts used to be exact after each batch's bulk dispose; now they are read
 * right after a collection (`live()`), where they are what the program references, and the
 * batch a program still points at is no longer disposed under it.
 */

/** numTensors right after a full collection. */
function live(): number {
  collectGarbage();
  return tf.memory().numTensors;
}

/** Flat: the median, but for a few tensors V8 may still hold in registers at a collection (a leak
 * of one tensor per step would put the last samples 250+ higher). */
function expectFlat(counts: number[]): void {
  const median = [...counts].sort((a, b) => a - b)[counts.length >> 1];
  expect(Math.max(...counts)).toBeLessThanOrEqual(median + 12);
  expect(Math.min(...counts.slice(-3))).toBeLessThanOrEqual(median);
}

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
  it("300 training batches: numTensors flat after warm-up, a batch the program holds stays valid", () => {
    const loader = new data.DataLoader(train, { batchSize: 8, shuffle: true });
    expect(loader.length).toBe(300);
    const counts: number[] = [];
    let previous: tf.Tensor | null = null;
    let losses: number[] = [];
    let i = 0;
    for (const [x, y] of loader) {
      if (previous !== null) expect(previous.shape).toEqual([8, numFeatures]);
      if (previous !== null && i % 50 === 0) expect(previous.sum().item()).toBeTypeOf("number");
      previous = x;
      losses.push(step(x, y));
      if (++i % 25 === 5) counts.push(live());
    }
    expect(previous!.isDisposed).toBe(false);
    expect(counts.length).toBe(12);
    expectFlat(counts);
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
    const before = live();
    for (const [x, y] of loader) step(x, y);
    expect(live()).toBeLessThanOrEqual(before + 4);
  });

  it("with break: many early-exited loops leave nothing behind", () => {
    const loader = new data.DataLoader(train, { batchSize: 8, shuffle: true });
    for (const [x, y] of loader) {
      step(x, y);
      break;
    }
    const before = live();
    for (let epoch = 0; epoch < 100; epoch++) {
      let k = 0;
      for (const [x, y] of loader) {
        step(x, y);
        if (++k === 3) break;
      }
    }
    expect(live()).toBeLessThanOrEqual(before + 4);
    expect(openStepScopeCount()).toBe(0);
  });

  it("with a throw inside the loop: the scope closes and memory stays flat", () => {
    const loader = new data.DataLoader(train, { batchSize: 8 });
    const before = live();
    for (let r = 0; r < 20; r++) {
      expect(() => {
        for (const [x, y] of loader) {
          x.matMul(w1).add(y.expandDims(1).cast("float32"));
          throw new Error("boom");
        }
      }).toThrow("boom");
    }
    // 20 abandoned batches of 6 tensors each: a leak of even one tensor per batch shows as +20;
    // the last errors (and what their frames saw) may still be alive at the collection.
    expect(live()).toBeLessThanOrEqual(before + 10);
    expect(openStepScopeCount()).toBe(0);
  });

  it("nested loaders: a validation loop inside the training loop", () => {
    const trainLoader = new data.DataLoader(train, { batchSize: 8, shuffle: true });
    const valLoader = new data.DataLoader(val, { batchSize: 16 });
    const counts: number[] = [];
    let i = 0;
    for (const [x, y] of trainLoader) {
      // Counted at the top of the body: the previous step (and any validation pass in it) is over.
      if (i % 25 === 5) counts.push(live());
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
    expectFlat(counts);
    expect(openStepScopeCount()).toBe(0);
  });

  it("for await: the same, including an early return", async () => {
    const loader = new data.DataLoader(train, { batchSize: 8, shuffle: true });
    const counts: number[] = [];
    let i = 0;
    for await (const [x, y] of loader) {
      step(x, y);
      await Promise.resolve();
      if (++i % 25 === 5) counts.push(live());
    }
    expect(counts.length).toBe(12);
    expectFlat(counts);
    const before = live();
    const firstLoss = async () => {
      for await (const [x, y] of loader) return step(x, y);
      return NaN;
    };
    for (let r = 0; r < 30; r++) expect(await firstLoss()).toBeGreaterThan(0);
    expect(live()).toBeLessThanOrEqual(before + 4);
    expect(openStepScopeCount()).toBe(0);
  });

  // Changed by issue 8: tensors made in a batch used to be disposed at its end unless tf.keep-ed.
  it("a tensor kept in a list outlives its batch, tf.keep or not; dropping the list frees it", () => {
    const loader = new data.DataLoader(val, { batchSize: 16 });
    const before = live();
    const collect = () => {
      const kept: tf.Tensor[] = [];
      const plain: tf.Tensor[] = [];
      const ref: number[] = [];
      for (const [x] of loader) {
        kept.push(tf.keep(x.mean()));
        plain.push(x.mean());
        ref.push(x.mean().item());
      }
      collectGarbage();
      expect(kept.map((t) => t.item())).toEqual(ref);
      expect(plain.map((t) => t.item())).toEqual(ref);
    };
    collect();
    expect(live()).toBeLessThanOrEqual(before + 4);
  });

  it("destructuring one batch closes the iterator; the batch stays valid while referenced", () => {
    const loader = new data.DataLoader(val, { batchSize: 4 });
    const [[x, y]] = loader;
    collectGarbage();
    expect(x.shape).toEqual([4, numFeatures]);
    expect(x.sum().item()).toBeTypeOf("number");
    expect(y.shape).toEqual([4]);
    expect(openStepScopeCount()).toBe(0);
  });
});
