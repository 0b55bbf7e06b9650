import { describe, it, expect, beforeAll, afterEach } from "vitest";
import { LightningLite, CPUAccelerator, MisconfigurationError } from "lightning-ts";
import { tf, nn, F, optim, data, selectBackend } from "lightning-ts/torch";
import { usePureJsCpu, Net, TestLite } from "../helpers";

/** The SPEC §3 shape of a Lite script. */
class Lite extends LightningLite {
  async run(args: { epochs: number; lr: number }): Promise<number[]> {
    this.seedEverything(42);
    let model = new Net();
    let optimizer = new optim.Adam(model.parameters(), { lr: args.lr });
    [model, optimizer] = this.setup(model, optimizer);
    const ds = new data.SyntheticClassification({ numSamples: 64, numFeatures: 6, numClasses: 3 });
    const loader = this.setupDataloaders(new data.DataLoader(ds, { batchSize: 16, shuffle: true }));
    model.train();
    const losses: number[] = [];
    for (let epoch = 0; epoch < args.epochs; epoch++) {
      for (const [x, y] of loader) {
        optimizer.zeroGrad();
        const loss = F.crossEntropy(model.forward(x), y);
        this.backward(loss);
        optimizer.step();
        losses.push(loss.item());
      }
    }
    return losses;
  }
}

/** A sync `run` that reports what it was called with. */
class SyncLite extends LightningLite {
  run(a: number, b: number): string {
    return `${a + b} on ${this.device} rank ${this.globalRank}`;
  }
}

/** An accelerator whose backend never starts. */
class BrokenAccelerator extends CPUAccelerator {
  override isActive(): boolean {
    return false;
  }
  override async setupDevice(): Promise<void> {
    throw new Error("the device fell off the bus");
  }
}

describe("LightningLite.run", () => {
  beforeAll(usePureJsCpu);
  afterEach(async () => {
    await selectBackend("cpu");
  });

  it("runs the SPEC's Lite script: training lowers the loss, reproducibly", async () => {
    const a = await new Lite({ accelerator: "auto", devices: 1, precision: "32-true" }).run({ epochs: 3, lr: 1e-2 });
    const b = await new Lite({ accelerator: "cpu", devices: 1, precision: "32-true" }).run({ epochs: 3, lr: 1e-2 });
    expect(a).toHaveLength(12);
    expect(a).toEqual(b);
    expect(a.slice(-4).reduce((s, v) => s + v, 0)).toBeLessThan(a.slice(0, 4).reduce((s, v) => s + v, 0));
  });

  it("returns a sync run's result directly when the backend is already active", () => {
    const lite = new SyncLite({ accelerator: "cpu" });
    expect(lite.run(2, 3)).toBe("5 on cpu rank 0");
  });

  it("waits for a backend that starts asynchronously; methods called before that say so", async () => {
    // WASM compiles asynchronously and the pure-JS backend is active: the switch cannot be sync.
    const lite = new SyncLite({ accelerator: "wasm" });
    expect(() => new TestLite({ accelerator: "wasm" }).setup(new Net())).toThrow(MisconfigurationError);
    expect(() => new TestLite({ accelerator: "wasm" }).setup(new Net())).toThrow(
      "setup() was called while the wasm accelerator's backend ('wasm') is still starting: call it inside run(), or after `await lite.launch()`",
    );
    const result = lite.run(1, 1) as unknown;
    expect(result).toBeInstanceOf(Promise);
    expect(await result).toBe("2 on wasm rank 0");
    expect(tf.getBackend()).toBe("wasm");

    // launch() is the same wait for code that uses Lite outside run().
    await selectBackend("cpu");
    const outside = new TestLite({ accelerator: "wasm" });
    await outside.launch();
    expect(tf.getBackend()).toBe("wasm");
    const [model] = outside.setup(new nn.Linear(2, 1));
    expect(model.forward(tf.ones([1, 2])).shape).toEqual([1, 1]);
  });

  it("reports a backend that cannot start from run(), launch() and the methods", async () => {
    const lite = new SyncLite({ accelerator: new BrokenAccelerator() });
    await expect(Promise.resolve(lite.run(1, 2))).rejects.toThrow("the device fell off the bus");
    await expect(lite.launch()).rejects.toThrow("the device fell off the bus");
    const t = new TestLite({ accelerator: new BrokenAccelerator() });
    await expect(t.launch()).rejects.toThrow();
    expect(() => t.setup(new Net())).toThrow("the device fell off the bus");
  });
});
