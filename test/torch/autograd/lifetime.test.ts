import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { tf, nn, F, optim, data, manualSeed } from "lightning-ts/torch";
import { collectGarbage, setCollectionPolicy, type CollectionPolicy } from "../../../src/torch/autograd/lifetime";
import { tapeLength } from "../../../src/torch/autograd/tape";

/**
 * PyTorch's tensor lifetimes: what the program references stays valid across steps with no
 * tf.keep, what it drops is freed, in every loop shape. A small collection budget makes the
 * sawtooth short, so "flat" can be checked over a few hundred steps: the peak of numTensors
 * and of the backend bytes in the last third of the run is no higher than in the first third.
 */

let saved: CollectionPolicy;
beforeAll(() => {
  saved = setCollectionPolicy({ stepTensors: 200, stepBytes: 1 << 20, timeRatio: 0 });
});
afterAll(() => {
  setCollectionPolicy(saved);
  collectGarbage();
});

interface Sample {
  tensors: number;
  bytes: number;
}

function sample(into: Sample[]): void {
  const m = tf.memory();
  into.push({ tensors: m.numTensors, bytes: m.numBytes });
}

/**
 * Memory is a sawtooth: it grows by the collection budget, then a collection brings it back to
 * what the program references. Flat means the troughs do not rise (a leak of one tensor per
 * step would lift the last third's trough by 100+ tensors) and the teeth stay bounded.
 */
function expectFlat(samples: Sample[]): void {
  expect(samples.length).toBeGreaterThanOrEqual(300);
  const third = Math.floor(samples.length / 3);
  const trough = (s: Sample[], k: keyof Sample) => Math.min(...s.map((x) => x[k]));
  const early = samples.slice(0, third);
  const late = samples.slice(-third);
  // Slack: a few objects V8 still holds in registers when a collection runs.
  expect(trough(late, "tensors")).toBeLessThanOrEqual(trough(early, "tensors") * 1.05 + 8);
  expect(trough(late, "bytes")).toBeLessThanOrEqual(trough(early, "bytes") * 1.05 + 1024);
  const peak = Math.max(...samples.map((x) => x.tensors));
  expect(peak - trough(samples, "tensors")).toBeLessThan(1000);
}

const N = 16;
const IN = 4;
const OUT = 4;

function dataset(numBatches: number, seed: number) {
  const x = tf.randomNormal([numBatches * N, IN], 0, 1, "float32", seed);
  const y = tf.randomNormal([numBatches * N, OUT], 0, 1, "float32", seed + 1);
  return { x, y, loader: new data.DataLoader(new data.TensorDataset(x, y), { batchSize: N }) };
}

const WARMUP = 20;

describe("tensors carried across steps stay valid, memory stays flat", () => {
  it("RNN-style hidden state via detach (the issue's example)", () => {
    manualSeed(1);
    const lin = new nn.Linear(IN, OUT);
    const opt = new optim.SGD(lin.parameters(), { lr: 0.01 });
    const { loader } = dataset(20, 10);
    let hidden = tf.zeros([N, OUT]);
    let lastOut: Float32Array | null = null;
    const samples: Sample[] = [];
    let step = 0;
    for (let epoch = 0; epoch < 17; epoch++) {
      for (const [xb, yb] of loader) {
        // The carried value is what the previous step left, exactly.
        if (lastOut) expect(Array.from(hidden.dataSync())).toEqual(Array.from(lastOut));
        opt.zeroGrad();
        const out = lin.forward(tf.add(xb, hidden));
        F.mseLoss(out, yb).backward();
        opt.step();
        hidden = out.detach();
        lastOut = out.dataSync() as Float32Array;
        if (++step > WARMUP) sample(samples);
      }
    }
    expect(hidden.requiresGrad).toBe(false);
    expectFlat(samples);
  });

  it("EMA of the loss kept as a tensor, and a running sum running = running.add(loss.detach())", () => {
    manualSeed(2);
    const lin = new nn.Linear(IN, OUT);
    const opt = new optim.SGD(lin.parameters(), { lr: 0.01 });
    const { loader } = dataset(20, 20);
    let ema: tf.Tensor | null = null;
    let running = tf.scalar(0);
    let emaRef = 0;
    let sumRef = 0;
    const samples: Sample[] = [];
    let step = 0;
    for (let epoch = 0; epoch < 17; epoch++) {
      for (const [xb, yb] of loader) {
        opt.zeroGrad();
        const loss = F.mseLoss(lin.forward(xb), yb);
        loss.backward();
        opt.step();
        const l = loss.item();
        ema = ema === null ? loss.detach() : ema.mul(0.9).add(loss.detach().mul(0.1));
        emaRef = step === 0 ? l : 0.9 * emaRef + 0.1 * l;
        running = running.add(loss.detach());
        sumRef += l;
        if (++step > WARMUP) sample(samples);
      }
    }
    expect(ema!.item()).toBeCloseTo(emaRef, 5);
    expect(Math.abs(running.item() - sumRef) / sumRef).toBeLessThan(1e-5);
    expectFlat(samples);
  });

  it("an epoch-wide prediction list concatenated at epoch end", () => {
    manualSeed(3);
    const lin = new nn.Linear(IN, OUT);
    const opt = new optim.SGD(lin.parameters(), { lr: 0.01 });
    const { loader } = dataset(20, 30);
    const samples: Sample[] = [];
    let step = 0;
    for (let epoch = 0; epoch < 17; epoch++) {
      const preds: tf.Tensor[] = [];
      const ref: number[] = [];
      for (const [xb, yb] of loader) {
        opt.zeroGrad();
        const out = lin.forward(xb);
        F.mseLoss(out, yb).backward();
        opt.step();
        preds.push(out.detach());
        ref.push(...out.dataSync());
        if (++step > WARMUP) sample(samples);
      }
      const all = tf.concat(preds);
      expect(all.shape).toEqual([20 * N, OUT]);
      expect(Array.from(all.dataSync())).toEqual(ref.map((v) => Math.fround(v)));
    }
    expectFlat(samples);
  });

  it("cloned best weights, used after training", () => {
    manualSeed(4);
    const lin = new nn.Linear(IN, OUT);
    const opt = new optim.SGD(lin.parameters(), { lr: 0.05 });
    const { loader } = dataset(20, 40);
    let best = Infinity;
    let bestWeight: tf.Tensor | null = null;
    let bestRef: number[] = [];
    const samples: Sample[] = [];
    let step = 0;
    for (let epoch = 0; epoch < 16; epoch++) {
      let total = 0;
      for (const [xb, yb] of loader) {
        opt.zeroGrad();
        const loss = F.mseLoss(lin.forward(xb), yb);
        loss.backward();
        opt.step();
        total += loss.item();
        if (++step > WARMUP) sample(samples);
      }
      // Every epoch improves at first; later ones may not: either way the clone must survive.
      if (total < best || epoch % 5 === 0) {
        best = total;
        bestWeight = lin.weight.clone();
        bestRef = Array.from(lin.weight.dataSync());
      }
    }
    expectFlat(samples);
    collectGarbage();
    expect(Array.from(bestWeight!.dataSync())).toEqual(bestRef);
    // Using it after training: a forward with the best weights.
    const x = tf.ones([1, IN]);
    const y = tf.matMul(x, bestWeight!.transpose()).dataSync();
    for (let o = 0; o < OUT; o++) {
      let s = 0;
      for (let i = 0; i < IN; i++) s += bestRef[o * IN + i];
      expect(y[o]).toBeCloseTo(s, 5);
    }
  });
});

describe("loops with no DataLoader keep memory flat", () => {
  function trainStep(lin: nn.Linear, opt: optim.SGD, xb: tf.Tensor, yb: tf.Tensor): number {
    opt.zeroGrad();
    const loss = F.mseLoss(lin.forward(xb), yb);
    loss.backward();
    opt.step();
    return loss.item();
  }

  it("hand-sliced batches (x.slice per batch)", () => {
    manualSeed(5);
    const lin = new nn.Linear(IN, OUT);
    const opt = new optim.SGD(lin.parameters(), { lr: 0.05 });
    const { x, y } = dataset(20, 50);
    const samples: Sample[] = [];
    const losses: number[] = [];
    for (let step = 0; step < 340; step++) {
      const b = step % 20;
      losses.push(trainStep(lin, opt, x.slice([b * N, 0], [N, IN]), y.slice([b * N, 0], [N, OUT])));
      if (step >= WARMUP) sample(samples);
    }
    expectFlat(samples);
    expect(losses.every(Number.isFinite)).toBe(true);
  });

  it("a while loop", () => {
    manualSeed(6);
    const lin = new nn.Linear(IN, OUT);
    const opt = new optim.SGD(lin.parameters(), { lr: 0.05 });
    const { x, y } = dataset(4, 60);
    const samples: Sample[] = [];
    let step = 0;
    let loss = Infinity;
    while (step < 340) {
      const idx = tf.tensor1d([step % 64, (step * 7) % 64, (step * 13) % 64], "int32");
      loss = trainStep(lin, opt, tf.gather(x, idx), tf.gather(y, idx));
      if (++step > WARMUP) sample(samples);
    }
    expectFlat(samples);
    expect(Number.isFinite(loss)).toBe(true);
  });

  it("full-batch training: the loss goes down as plain gradient descent says", () => {
    manualSeed(7);
    const lin = new nn.Linear(IN, 1);
    const opt = new optim.SGD(lin.parameters(), { lr: 0.1 });
    // y = x·[1, -2, 0.5, 3] + 0.25, exactly representable: GD drives the MSE towards 0.
    const x = tf.randomNormal([64, IN], 0, 1, "float32", 70);
    const y = tf.add(tf.matMul(x, tf.tensor2d([[1], [-2], [0.5], [3]])), 0.25);
    const samples: Sample[] = [];
    let first = 0;
    let last = 0;
    for (let step = 0; step < 340; step++) {
      last = trainStep(lin, opt, x, y);
      if (step === 0) first = last;
      if (step >= WARMUP) sample(samples);
    }
    expectFlat(samples);
    expect(last).toBeLessThan(1e-4 * first);
  });

  it("an inference loop with no backward and no scope: the creation budget collects", () => {
    const prev = setCollectionPolicy({ hardTensors: 300 });
    try {
      const lin = new nn.Linear(IN, OUT);
      const samples: Sample[] = [];
      for (let step = 0; step < 400; step++) {
        lin.forward(tf.ones([N, IN])).sum().item();
        if (step >= WARMUP) sample(samples);
      }
      expectFlat(samples);
    } finally {
      setCollectionPolicy(prev);
    }
  });
});

describe("what is dropped is freed", () => {
  it("an unreferenced result and its graph are gone after a collection", () => {
    const w = tf.variable(tf.ones([3]));
    collectGarbage();
    collectGarbage();
    const before = tf.memory().numTensors;
    // Graphs of earlier tests in this process may still be on the tape: count from here.
    const tapeBefore = tapeLength();
    // In a function of its own, so no register of this frame still points at the last result.
    const drop = () => {
      for (let i = 0; i < 50; i++) tf.sum(tf.mul(w, 2)); // graphs never backpropagated
    };
    drop();
    expect(tapeLength()).toBeGreaterThan(tapeBefore);
    collectGarbage();
    // 50 graphs were made (5 tensors each: sum, product, the clones saved for backward); at most
    // the last one or two may survive (V8 can still hold a recent result in a register).
    expect(tf.memory().numTensors).toBeLessThanOrEqual(before + 10);
    expect(tapeLength()).toBeLessThanOrEqual(tapeBefore + 8);
    w.dispose();
  });
});

describe("using a freed tensor", () => {
  it("is one line naming the op that made it, never a tfjs internal error", () => {
    const a = tf.matMul(tf.ones([2, 3]), tf.ones([3, 2]));
    a.dispose();
    const expected = /^lightning-ts: a float32 tensor of shape \[2,2\] \(id \d+, made by matMul\) was used after it was disposed/;
    for (const use of [() => tf.add(a, 1), () => a.dataSync(), () => a.item(), () => a.relu()]) {
      let message = "";
      try {
        use();
      } catch (e) {
        message = (e as Error).message;
      }
      expect(message).toMatch(expected);
      expect(message).not.toContain("\n");
      expect(message).not.toContain("reading 'backend'");
    }
  });

  it("the loss of a backward", () => {
    const w = tf.variable(tf.ones([2]));
    const loss = tf.sum(tf.mul(w, w));
    loss.dispose();
    expect(() => loss.backward()).toThrow(/made by sum\) was used after it was disposed/i);
    w.dispose();
  });
});

describe("custom-gradient ops", () => {
  it("a tf.customGrad result (made inside its kernel) is freed like any other, with or without backward", () => {
    const w = tf.variable(tf.ones([4, 4]));
    const x = tf.ones([3, 4]);
    const square = tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
      const [a, save] = args as [tf.Tensor, tf.GradSaveFunc];
      save([a]);
      return { value: tf.sum(tf.mul(a, a)), gradFunc: (dy: tf.Tensor, [s]: tf.Tensor[]) => [tf.mul(dy, tf.mul(s, 2))] };
    });
    const run = (backward: boolean) => {
      for (let i = 0; i < 40; i++) {
        w.grad = null;
        const y = square(tf.matMul(x, w)) as tf.Tensor;
        if (backward) y.backward();
      }
    };
    run(true);
    collectGarbage();
    const before = tf.memory().numTensors;
    const tapeBefore = tapeLength();
    run(true);
    run(false);
    collectGarbage();
    // 80 results and their graphs were dropped: a leak of one tensor (or node) per call would
    // show 80; the most recent few may still be held by V8 at the collection.
    expect(tf.memory().numTensors).toBeLessThanOrEqual(before + 12);
    expect(tapeLength()).toBeLessThanOrEqual(tapeBefore + 12);
    // The gradient is still right: d/dW sum((xW)^2) = 2 x^T (xW) = 2 * 3 * 4 = 24 per entry.
    w.grad = null;
    (square(tf.matMul(x, w)) as tf.Tensor).backward();
    expect(Array.from(w.grad!.dataSync())).toEqual(new Array(16).fill(24));
    w.dispose();
  });
});
