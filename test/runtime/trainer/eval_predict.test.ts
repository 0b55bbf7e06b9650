/** validate / test / predict, datamodules, dataloaders given directly, async hooks, iterables without a length. */
import { describe, it, expect, beforeAll, vi } from "vitest";
import { Trainer, LightningDataModule, MisconfigurationError } from "lightning-ts";
import { usePureJsCpu, baseOptions, Classifier, EvalClassifier, manualSeed, withLossTrace, snapshot, dataset, tf, data } from "./helpers";

const quiet = { logger: false, enableCheckpointing: false } as const;

function captureStdout(): { text: () => string; restore: () => void } {
  const out: string[] = [];
  const spy = vi.spyOn(process.stdout, "write").mockImplementation((s: string | Uint8Array) => (out.push(String(s)), true));
  return { text: () => out.join(""), restore: () => spy.mockRestore() };
}

describe("validate / test", () => {
  beforeAll(usePureJsCpu);

  it("return the logged epoch metrics per dataloader, print Lightning's table, and leave the model as it was", async () => {
    manualSeed(0);
    const model = new EvalClassifier();
    const before = snapshot(model.parameters());
    const trainer = new Trainer(baseOptions(quiet));
    const cap = captureStdout();
    let results: Array<Record<string, number>>;
    try {
      results = await trainer.test(model);
    } finally {
      cap.restore();
    }
    expect(Object.keys(results[0]).sort()).toEqual(["test_acc", "test_loss"]);
    const lines = cap.text().split("\n");
    const bar = "─".repeat(process.stdout.columns || 120);
    const i = lines.indexOf(bar);
    expect(i).toBeGreaterThanOrEqual(0);
    expect(lines[i + 1]).toBe("       Test metric             DataLoader 0");
    expect(lines[i + 2]).toBe(bar);
    expect(lines[i + 3]).toMatch(/^\s+test_acc\s+[0-9.]+$/);
    expect(lines[i + 4]).toMatch(/^\s+test_loss\s+[0-9.]+$/);
    expect(lines[i + 5]).toBe(bar);
    expect(snapshot(model.parameters())).toEqual(before);
    expect(model.training).toBe(true);
    expect(model.model.drop.training).toBe(true);
    // Deterministic: the same weights give the same metrics.
    expect(await trainer.validate(model, { verbose: false })).toEqual(await trainer.validate(model, { verbose: false }));
    const cap2 = captureStdout();
    await trainer.test(model, { verbose: false });
    cap2.restore();
    expect(cap2.text()).not.toContain("Test metric");
  });

  it("evaluate on dataloaders given directly (several), and refuse dataloaders with a datamodule", async () => {
    manualSeed(0);
    const model = new EvalClassifier();
    const trainer = new Trainer(baseOptions(quiet));
    const a = new data.DataLoader(dataset(16, 3), { batchSize: 8 });
    const b = new data.DataLoader(dataset(8, 4), { batchSize: 8 });
    const res = await trainer.validate(model, { dataloaders: [a, b], verbose: false });
    expect(res).toHaveLength(2);
    expect(Object.keys(res[0]).sort()).toEqual(["val_acc/dataloader_idx_0", "val_loss/dataloader_idx_0"]);
    expect(Object.keys(res[1]).sort()).toEqual(["val_acc/dataloader_idx_1", "val_loss/dataloader_idx_1"]);
    class DM extends LightningDataModule {}
    await expect(trainer.validate(model, { dataloaders: a, datamodule: new DM() })).rejects.toThrow(MisconfigurationError);
  });
});

describe("predict", () => {
  beforeAll(usePureJsCpu);

  it("returns the predictions (kept tensors), one list per dataloader with several, in eval mode without gradients", async () => {
    manualSeed(0);
    const model = new EvalClassifier();
    const trainer = new Trainer(baseOptions(quiet));
    const x = tf.keep(tf.randomNormal([5, 6], 0, 1, "float32", 1));
    const single = (await trainer.predict(model, { dataloaders: [x] })) as tf.Tensor[];
    expect(single).toHaveLength(1);
    expect(single[0].isDisposed).toBe(false);
    expect(single[0].shape).toEqual([5, 3]);
    expect(single[0].requiresGrad).toBe(false);
    // Eval mode: dropout off, so the prediction equals forward in eval mode.
    model.eval();
    expect(Array.from(single[0].dataSync())).toEqual(Array.from(tf.tidy(() => model.forward(x)).dataSync()));
    model.train();
    // Several sources must be DataLoaders (or non-array iterables): an array of arrays is one source of tuple batches.
    class Unpack extends EvalClassifier {
      override predictStep([b]: [tf.Tensor]) {
        return this.forward(b);
      }
    }
    const loaders = [new data.DataLoader(new data.TensorDataset(x), { batchSize: 2 }), new data.DataLoader(new data.TensorDataset(x), { batchSize: 5 })];
    const several = (await trainer.predict(new Unpack(), { dataloaders: loaders })) as unknown[][];
    expect(several.map((l) => l.length)).toEqual([3, 1]);
    expect(await trainer.predict(model, { dataloaders: [x], returnPredictions: false })).toBeNull();
    class Custom extends EvalClassifier {
      override predictStep(batch: tf.Tensor, i: number) {
        return { i, argmax: tf.argMax(this.forward(batch), 1) };
      }
      override predictDataloader() {
        return [x, x];
      }
    }
    const custom = (await trainer.predict(new Custom())) as Array<{ i: number; argmax: tf.Tensor }>;
    expect(custom.map((c) => c.i)).toEqual([0, 1]);
    expect(custom[1].argmax.shape).toEqual([5]);
    await expect(trainer.predict(new Classifier())).rejects.toThrow("No `predictDataloader()` method defined to run `Trainer.predict`.");
  });
});

describe("data sources", () => {
  beforeAll(usePureJsCpu);

  it("a LightningDataModule's hooks run in Lightning's order and its dataloaders replace the module's", async () => {
    const calls: string[] = [];
    class DM extends LightningDataModule {
      override prepareData() {
        calls.push("prepareData");
      }
      override setup(stage: string) {
        calls.push(`setup:${stage}`);
      }
      override teardown(stage: string) {
        calls.push(`teardown:${stage}`);
      }
      override trainDataloader() {
        calls.push("trainDataloader");
        return new data.DataLoader(dataset(32), { batchSize: 16 });
      }
      override testDataloader() {
        return new data.DataLoader(dataset(16, 2), { batchSize: 16 });
      }
    }
    manualSeed(0);
    const trainer = new Trainer(baseOptions({ ...quiet, maxEpochs: 1 }));
    const dm = new DM();
    const warn = vi.spyOn(console, "warn").mockImplementation(() => {});
    await trainer.fit(new EvalClassifier(), { datamodule: dm });
    warn.mockRestore();
    expect(calls).toEqual(["prepareData", "setup:fit", "trainDataloader", "teardown:fit"]);
    expect(trainer.datamodule).toBe(dm);
    expect(dm.trainer).toBe(trainer);
    expect(trainer.globalStep).toBe(2); // the datamodule's 32 samples, not the module's 64
    const res = await trainer.test(new EvalClassifier(), { dataloaders: dm, verbose: false });
    expect(res).toHaveLength(1);
    const fromDatasets = LightningDataModule.fromDatasets({ trainDataset: dataset(48), batchSize: 16 });
    const t2 = new Trainer(baseOptions({ ...quiet, maxEpochs: 1 }));
    await t2.fit(new Classifier(), { datamodule: fromDatasets });
    expect(t2.globalStep).toBe(3);
  });

  it("fit on dataloaders given directly, a plain array of batches, or a generator without a length", async () => {
    manualSeed(0);
    const t = new Trainer(baseOptions({ ...quiet, maxEpochs: 2, numSanityValSteps: 0 }));
    await t.fit(new Classifier(), { trainDataloaders: new data.DataLoader(dataset(48), { batchSize: 16 }) });
    expect(t.globalStep).toBe(6);
    expect(t.numTrainingBatches).toBe(3);

    const batches = [0, 1, 2].map((s) => {
      const [x, y] = new data.DataLoader(dataset(8, s), { batchSize: 8 })[Symbol.iterator]().next().value as tf.Tensor[];
      return [tf.keep(x), tf.keep(y)];
    });
    const t2 = new Trainer(baseOptions({ ...quiet, maxEpochs: 2 }));
    await t2.fit(new Classifier(), { trainDataloaders: batches });
    expect(t2.globalStep).toBe(6);
    expect(batches.every(([x]) => !x.isDisposed)).toBe(true); // the user's tensors are the user's

    let validated = 0;
    class Gen extends EvalClassifier {
      override trainDataloader() {
        return {
          *[Symbol.iterator]() {
            for (const b of new data.DataLoader(dataset(48), { batchSize: 16 })) yield b;
          },
        };
      }
      override onValidationEnd(): void {
        if (!this.trainer.sanityChecking) validated++;
      }
    }
    const t3 = new Trainer(baseOptions({ ...quiet, maxEpochs: 2 }));
    await t3.fit(new Gen());
    expect(t3.numTrainingBatches).toBe(Infinity);
    expect(t3.globalStep).toBe(6);
    expect(validated).toBe(2); // once per epoch, when the data runs out
    await expect(new Trainer(baseOptions({ ...quiet, maxEpochs: 1, valCheckInterval: 0.5 })).fit(new Gen())).rejects.toThrow(
      "When using an iterable without a length for `trainDataloader`",
    );
  });

  it("async hooks and steps are awaited and give the same training as sync ones", async () => {
    const sync = await withLossTrace(async () => {
      manualSeed(9);
      await new Trainer(baseOptions({ ...quiet, maxEpochs: 2 })).fit(new EvalClassifier());
    });
    const order: string[] = [];
    class Async extends EvalClassifier {
      override async trainingStep(batch: [tf.Tensor, tf.Tensor]) {
        await new Promise((r) => setTimeout(r, 1));
        return super.trainingStep(batch);
      }
      override async onTrainEpochStart() {
        await new Promise((r) => setTimeout(r, 1));
        order.push("epochStart");
      }
      override async onTrainBatchEnd() {
        await new Promise((r) => setTimeout(r, 1));
        order.push("batchEnd");
      }
      override async trainDataloader() {
        await new Promise((r) => setTimeout(r, 1));
        return super.trainDataloader();
      }
    }
    const traced = await withLossTrace(async () => {
      manualSeed(9);
      await new Trainer(baseOptions({ ...quiet, maxEpochs: 2 })).fit(new Async());
    });
    expect(traced).toEqual(sync);
    expect(order).toEqual(["epochStart", "batchEnd", "batchEnd", "batchEnd", "batchEnd", "epochStart", "batchEnd", "batchEnd", "batchEnd", "batchEnd"]);
  });

  it("an error in training reaches onException and is re-thrown; the trainer is marked interrupted", async () => {
    const seen: unknown[] = [];
    const { Callback } = await import("lightning-ts");
    class Catch extends Callback {
      override onException(_t: Trainer, _m: unknown, e: unknown): void {
        seen.push(e);
      }
    }
    class Boom extends Classifier {
      override trainingStep(batch: [tf.Tensor, tf.Tensor], i: number): tf.Tensor {
        if (i === 2) throw new Error("boom at batch 2");
        return super.trainingStep(batch);
      }
    }
    const t = new Trainer(baseOptions({ ...quiet, maxEpochs: 1, callbacks: [new Catch()] }));
    await expect(t.fit(new Boom())).rejects.toThrow("boom at batch 2");
    expect(seen).toHaveLength(1);
    expect(t.state.status).toBe("interrupted");
  });
});


describe("run methods take Lightning's positional data, and refuse unknown options", () => {
  beforeAll(usePureJsCpu);

  it("validate(model, loader) and test(model, [loader]) are validate(model, { dataloaders }); fit(model, loader) trains on it", async () => {
    const loader = () => new data.DataLoader(dataset(32, 3), { batchSize: 8 });
    manualSeed(0);
    const model = new EvalClassifier();
    const trainer = new Trainer(baseOptions({ ...quiet, enableProgressBar: false, enableModelSummary: false }));
    const cap = captureStdout();
    let a: Array<Record<string, number>>;
    try {
      a = await trainer.validate(model, loader());
    } finally {
      cap.restore();
    }
    const b = await trainer.validate(model, { dataloaders: loader(), verbose: false });
    expect(a).toEqual(b);
    const t = await trainer.test(model, [loader()]);
    expect(Object.keys(t[0]!).sort()).toEqual(["test_acc", "test_loss"]);
    const trace = await withLossTrace(() => new Trainer(baseOptions({ ...quiet, maxEpochs: 1, enableProgressBar: false, enableModelSummary: false })).fit(new Classifier(), loader()));
    expect(trace).toHaveLength(4);
  });

  it("an options object with an unknown key is an error naming the closest option", async () => {
    const trainer = new Trainer(baseOptions(quiet));
    await expect(trainer.fit(new Classifier(), { trainDataloader: [] } as never)).rejects.toThrow(/trainDataloader.*trainDataloaders/);
    await expect(trainer.validate(new EvalClassifier(), { dataloader: [] } as never)).rejects.toThrow(/dataloader.*dataloaders/);
  });
});
