// The DDP reducer against a stand-in for the collectives thread (one that records when each
// bucket starts and averages with ranks it invents): buckets in reverse parameter order, started
// while the backward pass still computes the earlier layers, in order, and written back to the
// right parameters; a layer the pass does not reach holds no bucket back.
import { describe, expect, it } from "vitest";
import { tf, nn, F, manualSeed } from "lightning-ts/torch";
import { onGradReady } from "../../../src/torch/autograd/grad_ready_hooks";
import { GradientReducer } from "../../../src/runtime/strategies/ddp_reducer";
import type { SyncCollectives } from "../../../src/runtime/plugins/collectives/sync_collectives";

/** Started buckets: their sizes, and how many gradients had completed when each started. */
function standIn(completed: () => number) {
  const starts: Array<{ size: number; completedBefore: number }> = [];
  const collectives = {
    // "mean" over this rank and one whose gradients are 3 times this one's: 2x
    startAllReduce(data: Float32Array) {
      starts.push({ size: data.length, completedBefore: completed() });
      const copy = data.map((v) => 2 * v);
      return { wait: () => copy };
    },
  } as unknown as SyncCollectives;
  return { collectives, starts };
}

class Three extends nn.Module {
  a = new nn.Linear(6, 5);
  b = new nn.Linear(5, 4);
  c = new nn.Linear(4, 3);
  unused = new nn.Linear(2, 2);
  override forward(x: tf.Tensor): tf.Tensor {
    return this.c.forward(F.relu(this.b.forward(F.relu(this.a.forward(x)))));
  }
}

describe("DDP's gradient reducer", () => {
  it("lays buckets out in reverse parameter order within the cap, the first at most 1 MiB", () => {
    manualSeed(0);
    const m = new Three();
    const names = new Map([...m.namedParameters()].map(([n, p]) => [p, n]));
    // 30 floats (120 bytes) per bucket: 2 + 4 + 3 + 12 + 4, then 20 + 5, then 30
    const layout = new GradientReducer(m.parameters(), 120).layout.map((b) => b.map((p) => names.get(p)));
    expect(layout).toEqual([["unused.bias", "unused.weight", "c.bias", "c.weight", "b.bias"], ["b.weight", "a.bias"], ["a.weight"]]);
    expect(new GradientReducer(m.parameters(), 25 << 20).layout).toHaveLength(1);
    const big = [tf.variable(tf.zeros([300_000])), tf.variable(tf.zeros([10])), tf.variable(tf.zeros([10]))];
    // the last parameter first: 10 + 300,000 floats would pass the first bucket's 1 MiB
    expect(new GradientReducer(big, 25 << 20).layout.map((b) => b.length)).toEqual([2, 1]);
  });

  it("starts each bucket while backward is still computing the earlier layers, in order, and writes each average back to its parameter", () => {
    manualSeed(0);
    const m = new Three();
    const params = m.parameters();
    const x = tf.randomNormal([8, 6]);
    const loss = () => tf.sum(tf.square(m.forward(x)));
    // the plain gradients
    loss().backward();
    const plain = params.map((p) => (p.grad ? Array.from(p.grad.dataSync()) : null));
    m.zeroGrad();

    let completed = 0;
    const count = onGradReady({ start: () => {}, ready: () => completed++ });
    try {
      const { collectives, starts } = standIn(() => completed);
      const reducer = new GradientReducer(params, 64); // 16 floats: about one parameter each
      reducer.reduce(collectives, () => loss().backward());
      const withGrad = params.filter((p) => p.grad !== null).length;
      expect(withGrad).toBe(6); // the unused layer has none
      // every bucket but those left at the end started before the pass had completed all 6
      const duringPass = starts.filter((s) => s.completedBefore < withGrad);
      expect(duringPass.length).toBeGreaterThanOrEqual(3);
      expect(starts[0]!.completedBefore).toBeLessThanOrEqual(2); // c's gradients, before a's and b's
      params.forEach((p, i) => {
        if (plain[i] === null) expect(p.grad).toBeNull();
        else expect(Array.from(p.grad!.dataSync())).toEqual(plain[i]!.map((v) => Math.fround(2 * v)));
      });
    } finally {
      count();
    }
  });

  it("adds this pass's gradient to the one a parameter holds before averaging (accumulation); a parameter without one is averaged as zeros and keeps none", () => {
    manualSeed(1);
    const m = new Three();
    const params = m.parameters();
    const x = tf.randomNormal([4, 6]);
    const loss = () => tf.sum(m.forward(x));
    loss().backward();
    const once = params.map((p) => (p.grad ? Array.from(p.grad.dataSync()) : null));
    const { collectives, starts } = standIn(() => 0);
    new GradientReducer(params, 64).reduce(collectives, () => loss().backward());
    params.forEach((p, i) => {
      if (once[i] === null) expect(p.grad).toBeNull();
      else expect(Array.from(p.grad!.dataSync())).toEqual(once[i]!.map((v) => Math.fround(2 * Math.fround(v + v))));
    });
    // every rank sends the whole layout, whatever it reached
    expect(starts.reduce((n, s) => n + s.size, 0)).toBe(params.reduce((n, p) => n + p.size, 0));
    expect(m.unused.weight.grad).toBeNull();
  });
});

describe("DDP's gradient reducer around a module's own backward", () => {
  for (const [name, passes] of [["that backpropagates two losses", 2], ["that runs no backward pass", 0]] as const) {
    it(`${name}: every bucket averages what the gradients hold once it returns`, () => {
      manualSeed(2);
      const m = new Three();
      const params = m.parameters();
      const x = tf.randomNormal([4, 6]);
      const loss = () => tf.sum(tf.square(m.forward(x)));
      for (let i = 0; i < Math.max(passes, 1); i++) loss().backward();
      const expected = params.map((p) => (p.grad ? Array.from(p.grad.dataSync(), (v) => Math.fround(2 * v)) : null));
      m.zeroGrad();
      if (passes === 0) loss().backward(); // what the skipped pass finds
      const { collectives, starts } = standIn(() => 0);
      new GradientReducer(params, 64).reduce(collectives, () => {
        for (let i = 0; i < passes; i++) loss().backward();
      });
      params.forEach((p, i) => expect(p.grad === null ? null : Array.from(p.grad.dataSync())).toEqual(expected[i]));
      expect(starts.length).toBeGreaterThan(0);
    });
  }
});
