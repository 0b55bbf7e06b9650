import { describe, it, expect, beforeAll, vi, afterEach } from "vitest";
import { MisconfigurationError } from "lightning-ts";
import { tf, optim, F } from "lightning-ts/torch";
import { usePureJsCpu, Net, TestLite, RankOneStrategy, batch, labels } from "../helpers";

describe("LightningLite: ranks, print, collectives", () => {
  beforeAll(usePureJsCpu);
  afterEach(() => vi.restoreAllMocks());

  it("a single process is rank 0 of a world of 1 on the accelerator's device", () => {
    const lite = new TestLite();
    expect([lite.worldSize, lite.globalRank, lite.localRank, lite.nodeRank, lite.isGlobalZero]).toEqual([1, 0, 0, 0, true]);
    expect(lite.device.toString()).toBe("cpu");
    expect(new TestLite({ accelerator: "wasm" }).device.toString()).toBe("wasm");
  });

  it("print writes on local rank 0 only", () => {
    const log = vi.spyOn(console, "log").mockImplementation(() => {});
    new TestLite().print("hello", 1);
    expect(log).toHaveBeenCalledTimes(1);
    expect(log).toHaveBeenCalledWith("hello", 1);
    const rankOne = new TestLite({ strategy: new RankOneStrategy("cpu") });
    expect([rankOne.globalRank, rankOne.localRank, rankOne.isGlobalZero]).toEqual([1, 1, false]);
    rankOne.print("not me");
    expect(log).toHaveBeenCalledTimes(1);
  });

  it("allGather stacks along a new leading world dimension, without gradient unless syncGrads", () => {
    const lite = new TestLite();
    const x = tf.tensor2d([[1, 2], [3, 4]]);
    const g = lite.allGather(x);
    expect(g.shape).toEqual([1, 2, 2]);
    expect(Array.from(g.dataSync())).toEqual([1, 2, 3, 4]);
    // Numbers and collections too.
    const n = lite.allGather(5);
    expect(n.shape).toEqual([1]);
    const c = lite.allGather({ a: x, b: [tf.scalar(2)] });
    expect(c.a.shape).toEqual([1, 2, 2]);
    expect(c.b[0].shape).toEqual([1]);
    // Gradients: cut by default, kept with syncGrads.
    const [model] = lite.setup(new Net());
    const out = model.forward(batch(2, 6));
    expect(lite.allGather(out).requiresGrad).toBe(false);
    const kept = lite.allGather(out, { syncGrads: true });
    expect(kept.requiresGrad).toBe(true);
    lite.backward(kept.sum());
    expect(model.fc1.weight.grad).not.toBeNull();
  });

  it("allReduce is the identity over one process for mean, sum, max and min; other ops are refused", () => {
    const lite = new TestLite();
    const x = tf.tensor1d([1.5, -2]);
    expect(Array.from(lite.allReduce(x).dataSync())).toEqual([1.5, -2]);
    expect(Array.from(lite.allReduce(x, "sum").dataSync())).toEqual([1.5, -2]);
    // Fabric's all_reduce takes torch's MAX and MIN by name too (`this.log`'s syncDist max/min needs them).
    expect(Array.from(lite.allReduce(x, "max").dataSync())).toEqual([1.5, -2]);
    expect(Array.from(lite.allReduce(x, "min").dataSync())).toEqual([1.5, -2]);
    const r = lite.allReduce({ loss: 3, acc: [x] }, "mean");
    expect(r.loss.arraySync()).toBe(3);
    expect(r.acc[0]).toBe(x);
    expect(() => lite.allReduce(x, "median" as never)).toThrow(MisconfigurationError);
    expect(() => lite.allReduce(x, "median" as never)).toThrow('allReduce(): op="median" is not supported; supported: mean, sum, max, min');
  });

  it("broadcast returns rank src's value; src must be a rank", () => {
    const lite = new TestLite();
    const obj = { a: 1 };
    expect(lite.broadcast(obj)).toBe(obj);
    expect(lite.broadcast("s", 0)).toBe("s");
    expect(() => lite.broadcast(obj, 1)).toThrow("broadcast(): src=1 is not a rank of this job (0..0)");
    expect(() => lite.broadcast(obj, -1)).toThrow(MisconfigurationError);
  });

  it("barrier returns at once with one process", () => {
    expect(new TestLite().barrier("x")).toBeUndefined();
  });

  it("noBackwardSync runs the block (nothing to skip on one device) and needs a Lite model", async () => {
    const lite = new TestLite();
    const [model, opt] = lite.setup(new Net(), new optim.SGD(new Net().parameters(), { lr: 0.1 }));
    expect(opt).toBeDefined();
    const out = lite.noBackwardSync(model, () => {
      lite.backward(F.crossEntropy(model.forward(batch(2, 6)), labels(2, 3)));
      return 7;
    });
    expect(out).toBe(7);
    expect(model.fc2.bias!.grad).not.toBeNull();
    expect(await lite.noBackwardSync(model, async () => 8)).toBe(8);
    expect(() => lite.noBackwardSync(new Net(), () => 1)).toThrow(
      "noBackwardSync(): set up the model with this.setup() first; this one is not a Lite model",
    );
  });
});
