/** Trainer flags against Lightning's documented semantics. */
import { describe, it, expect, beforeAll, vi } from "vitest";
import * as fs from "node:fs";
import * as path from "node:path";
import { Trainer, Callback, SimpleProfiler, MisconfigurationError, type LightningModule } from "lightning-ts";
import { usePureJsCpu, baseOptions, tmpRoot, Classifier, EvalClassifier, manualSeed, tf } from "./helpers";

/** Counts what happened during a fit. */
class Recorder extends Callback {
  epochsStarted = 0;
  trainBatches: number[] = []; // batch indices, all epochs
  valRuns: Array<{ epoch: number; step: number; batches: number }> = [];
  private valBatches = 0;
  firstLabels: number[][] = [];
  override onTrainEpochStart(): void {
    this.epochsStarted++;
    this.firstLabels.push([]);
  }
  override onTrainBatchStart(_t: Trainer, _m: LightningModule, batch: unknown, batchIdx: number): void {
    this.trainBatches.push(batchIdx);
    const y = (batch as tf.Tensor[])[1];
    this.firstLabels[this.firstLabels.length - 1].push(...Array.from(y.dataSync()).slice(0, 2));
  }
  override onValidationBatchEnd(trainer: Trainer): void {
    if (!trainer.sanityChecking) this.valBatches++;
  }
  override onValidationEnd(trainer: Trainer): void {
    if (trainer.sanityChecking) return;
    this.valRuns.push({ epoch: trainer.currentEpoch, step: trainer.globalStep, batches: this.valBatches });
    this.valBatches = 0;
  }
}

async function fitWith(opts: Parameters<typeof baseOptions>[0], model: LightningModule = new EvalClassifier()) {
  manualSeed(0);
  const rec = new Recorder();
  const trainer = new Trainer(baseOptions({ logger: false, enableCheckpointing: false, numSanityValSteps: 0, ...opts, callbacks: [rec] }));
  await trainer.fit(model);
  return { trainer, rec };
}

describe("Trainer flags", () => {
  beforeAll(usePureJsCpu);

  it("maxEpochs: trains that many epochs; currentEpoch ends there", async () => {
    const { trainer, rec } = await fitWith({ maxEpochs: 3 });
    expect(rec.epochsStarted).toBe(3);
    expect(trainer.currentEpoch).toBe(3);
    expect(trainer.globalStep).toBe(12); // 64 samples / 16 = 4 steps per epoch
  });

  it("maxSteps: stops at that optimizer step, mid-epoch, and the epoch still ends", async () => {
    const ends: number[] = [];
    class End extends Callback {
      override onTrainEpochEnd(t: Trainer): void {
        ends.push(t.globalStep);
      }
    }
    manualSeed(0);
    const trainer = new Trainer(baseOptions({ maxSteps: 6, logger: false, enableCheckpointing: false, callbacks: [new End()] }));
    await trainer.fit(new Classifier());
    expect(trainer.globalStep).toBe(6);
    expect(ends).toEqual([4, 6]);
    expect(trainer.maxEpochs).toBe(-1); // maxSteps alone: no epoch limit
  });

  it("maxEpochs defaults to 1000 (with a warning) when neither limit is given", async () => {
    const warn = vi.spyOn(console, "warn").mockImplementation(() => {});
    class StopAfterOne extends Callback {
      override onTrainEpochEnd(t: Trainer): void {
        t.shouldStop = true;
      }
    }
    manualSeed(0);
    const trainer = new Trainer(baseOptions({ logger: false, enableCheckpointing: false, callbacks: [new StopAfterOne()] }));
    await trainer.fit(new Classifier());
    expect(trainer.maxEpochs).toBe(1000);
    expect(trainer.currentEpoch).toBe(1);
    expect(warn.mock.calls.flat().join("\n")).toContain("`maxEpochs` was not set. Setting it to 1000 epochs");
    warn.mockRestore();
  });

  it("minEpochs: shouldStop is honoured only after minEpochs", async () => {
    class StopNow extends Callback {
      override onTrainBatchEnd(t: Trainer): void {
        t.shouldStop = true;
      }
    }
    manualSeed(0);
    const trainer = new Trainer(baseOptions({ maxEpochs: 10, minEpochs: 3, logger: false, enableCheckpointing: false, callbacks: [new StopNow()] }));
    const warn = vi.spyOn(console, "warn").mockImplementation(() => {});
    await trainer.fit(new Classifier());
    warn.mockRestore();
    // minEpochs counts finished epochs: the third epoch runs to its end, then training stops.
    expect(trainer.currentEpoch).toBe(3);
    expect(trainer.globalStep).toBe(12);
  });

  it("limitTrainBatches: an integer is a count, a fraction a share of the epoch, too small a fraction an error", async () => {
    expect((await fitWith({ maxEpochs: 2, limitTrainBatches: 3 })).rec.trainBatches).toEqual([0, 1, 2, 0, 1, 2]);
    expect((await fitWith({ maxEpochs: 1, limitTrainBatches: 0.5 })).rec.trainBatches).toEqual([0, 1]);
    expect((await fitWith({ maxEpochs: 1, limitTrainBatches: 0.6 })).rec.trainBatches).toEqual([0, 1]); // floor(4 * 0.6)
    await expect(fitWith({ maxEpochs: 1, limitTrainBatches: 0.1 })).rejects.toThrow(
      "You requested to check 0.1 of the `trainDataloader` but 0.1 * 4 < 1. Please increase the `limitTrainBatches` argument. Try at least `limitTrainBatches=0.25`",
    );
    const none = await fitWith({ maxEpochs: 1, limitTrainBatches: 0 });
    expect(none.rec.epochsStarted).toBe(0);
    expect(() => new Trainer({ limitTrainBatches: 1.5 })).toThrow("it has to be in [0.0, 1.0] or an int");
  });

  it("limitValBatches: count, fraction, and 0 disables validation", async () => {
    // 40 validation samples in batches of 16: 3 batches.
    expect((await fitWith({ maxEpochs: 1, limitValBatches: 2 })).rec.valRuns).toEqual([{ epoch: 0, step: 4, batches: 2 }]);
    expect((await fitWith({ maxEpochs: 1, limitValBatches: 0.7 })).rec.valRuns).toEqual([{ epoch: 0, step: 4, batches: 2 }]);
    const off = await fitWith({ maxEpochs: 1, limitValBatches: 0 });
    expect(off.rec.valRuns).toEqual([]);
    expect(off.trainer.enableValidation).toBe(false);
  });

  it("valCheckInterval: 0.5 validates twice an epoch; an integer every N batches", async () => {
    const half = await fitWith({ maxEpochs: 2, valCheckInterval: 0.5 });
    expect(half.rec.valRuns.map((r) => [r.epoch, r.step])).toEqual([[0, 2], [0, 4], [1, 6], [1, 8]]);
    // 128 samples, batches of 16: 8 per epoch; every 3 batches → after batches 3 and 6.
    const every3 = await fitWith({ maxEpochs: 1, valCheckInterval: 3 }, new EvalClassifier({ n: 128 }));
    expect(every3.rec.valRuns.map((r) => r.step)).toEqual([3, 6]);
    await expect(fitWith({ maxEpochs: 1, valCheckInterval: 5 })).rejects.toThrow("`valCheckInterval` (5) must be less than or equal to the number of the training batches (4)");
  });

  it("checkValEveryNEpoch: validates every N epochs; null validates every valCheckInterval batches across epochs", async () => {
    const every2 = await fitWith({ maxEpochs: 4, checkValEveryNEpoch: 2 });
    expect(every2.rec.valRuns.map((r) => r.epoch)).toEqual([1, 3]);
    const byBatches = await fitWith({ maxEpochs: 3, checkValEveryNEpoch: null, valCheckInterval: 5 });
    expect(byBatches.rec.valRuns.map((r) => r.step)).toEqual([5, 10]);
  });

  it("fastDevRun: N batches of train/val/test, one epoch, no sanity check, no loggers, no checkpoints", async () => {
    const root = tmpRoot();
    for (const [flag, n] of [[true, 1], [3, 3]] as const) {
      manualSeed(0);
      const rec = new Recorder();
      const trainer = new Trainer({ fastDevRun: flag, enableProgressBar: false, defaultRootDir: root, maxEpochs: 5, callbacks: [rec] });
      const model = new EvalClassifier();
      await trainer.fit(model);
      expect(rec.epochsStarted).toBe(1);
      expect(rec.trainBatches).toEqual(Array.from({ length: n }, (_, i) => i));
      expect(rec.valRuns).toEqual([{ epoch: 0, step: n, batches: Math.min(n, 3) }]);
      expect(trainer.globalStep).toBe(n);
      expect(trainer.fastDevRun).toBe(n);
      expect(trainer.loggers).toEqual([]);
      const tested: number[] = [];
      class T extends EvalClassifier {
        override testStep(b: [tf.Tensor, tf.Tensor], i: number): void {
          tested.push(i);
          super.testStep(b);
        }
      }
      await trainer.test(new T(), { verbose: false });
      expect(tested).toHaveLength(Math.min(n, 3));
    }
    expect(fs.readdirSync(root)).toEqual([]); // nothing written
    expect(() => new Trainer({ fastDevRun: -1 })).toThrow("fastDevRun=-1 is not a valid configuration");
  });

  it("overfitBatches: the same first batches every epoch, unshuffled, and validation limited too", async () => {
    const warn = vi.spyOn(console, "warn").mockImplementation(() => {});
    const { rec } = await fitWith({ maxEpochs: 3, overfitBatches: 2 }, new EvalClassifier({ shuffle: true }));
    expect(warn.mock.calls.flat().join("\n")).toContain("You requested to overfit but enabled train dataloader shuffling");
    warn.mockRestore();
    expect(rec.trainBatches).toEqual([0, 1, 0, 1, 0, 1]);
    // Unshuffled: labels are i mod 3 in order, identical every epoch.
    expect(rec.firstLabels).toEqual([[0, 1, 1, 2], [0, 1, 1, 2], [0, 1, 1, 2]]);
    expect(rec.valRuns.every((r) => r.batches === 2)).toBe(true);
    const frac = await fitWith({ maxEpochs: 1, overfitBatches: 0.5 });
    expect(frac.rec.trainBatches).toEqual([0, 1]);
  });

  it("detectAnomaly: a NaN loss stops training with the epoch and step in the message", async () => {
    class Diverges extends Classifier {
      override trainingStep(batch: [tf.Tensor, tf.Tensor]): tf.Tensor {
        const loss = super.trainingStep(batch);
        return this.globalStep === 5 ? loss.mul(NaN) : loss;
      }
    }
    manualSeed(0);
    const trainer = new Trainer(baseOptions({ maxEpochs: 3, detectAnomaly: true, logger: false, enableCheckpointing: false }));
    await expect(trainer.fit(new Diverges())).rejects.toThrow("detectAnomaly: the training loss is NaN at epoch 1, global step 5 (batch 1 of the epoch)");
    expect(trainer.interrupted).toBe(true);
    // Without the flag, training goes on.
    manualSeed(0);
    await new Trainer(baseOptions({ maxEpochs: 2, logger: false, enableCheckpointing: false })).fit(new Diverges());
  });

  it('profiler: "simple" prints a timing table at the end; with a file name it is written there', async () => {
    const out: string[] = [];
    const write = vi.spyOn(process.stdout, "write").mockImplementation((s: string | Uint8Array) => (out.push(String(s)), true));
    try {
      await fitWith({ maxEpochs: 1, profiler: "simple" });
    } finally {
      write.mockRestore();
    }
    const report = out.join("");
    expect(report).toContain("FIT Profiler Report");
    expect(report).toMatch(/\|\s+Action\s+\|\s+Mean duration \(s\)\s+\|\s+Num calls\s+\|\s+Total time \(s\)\s+\|\s+Percentage %\s+\|/);
    expect(report).toMatch(/\|\s+run_training_epoch\s+\|\s+[\d.e-]+\s+\|\s+1\s+\|/);
    expect(report).toMatch(/\|\s+run_training_batch\s+\|\s+[\d.e-]+\s+\|\s+4\s+\|/);
    expect(report).toMatch(/\[Strategy\]SingleDeviceStrategy\.training_step\s+\|\s+[\d.e-]+\s+\|\s+4\s+\|/);
    expect(report).toMatch(/\[LightningModule\]EvalClassifier\.optimizer_step\s+\|\s+[\d.e-]+\s+\|\s+4\s+\|/);
    expect(report).toMatch(/\[Callback\]Recorder\.on_train_batch_start\s+\|\s+[\d.e-]+\s+\|\s+4\s+\|/);

    const dir = tmpRoot();
    await fitWith({ maxEpochs: 1, profiler: new SimpleProfiler({ dirpath: dir, filename: "perf" }) });
    expect(fs.readFileSync(path.join(dir, "fit-perf.txt"), "utf8")).toContain("FIT Profiler Report");
    expect(() => new Trainer({ profiler: "fancy" as "simple" })).toThrow('it can only be one of ["simple", "kernel", "pytorch"]');
  });

  it("reloadDataloadersEveryNEpochs: the dataloader hooks run again every N epochs", async () => {
    const requested: string[] = [];
    class Reloading extends EvalClassifier {
      override trainDataloader() {
        requested.push(`train@${this.currentEpoch}`);
        return super.trainDataloader();
      }
      override valDataloader() {
        requested.push(`val@${this.currentEpoch}`);
        return super.valDataloader();
      }
    }
    await fitWith({ maxEpochs: 4, reloadDataloadersEveryNEpochs: 2 }, new Reloading());
    // Without a sanity check the validation loader is requested when training starts, after the training one.
    expect(requested).toEqual(["train@0", "val@0", "train@2", "val@2"]);
    requested.length = 0;
    await fitWith({ maxEpochs: 3, numSanityValSteps: 2 }, new Reloading());
    expect(requested).toEqual(["val@0", "train@0"]);
  });

  it("onTrainBatchStart returning -1 skips the rest of the epoch", async () => {
    class Skips extends EvalClassifier {
      override onTrainBatchStart(_b: unknown, i: number) {
        return i === 2 ? -1 : undefined;
      }
    }
    const { trainer, rec } = await fitWith({ maxEpochs: 2 }, new Skips());
    expect(rec.trainBatches).toEqual([0, 1, 2, 0, 1, 2]);
    expect(trainer.globalStep).toBe(4);
    expect(trainer.currentEpoch).toBe(2);
  });

  it("rejects invalid flags with the flag's name", () => {
    expect(() => new Trainer({ maxSteps: -2 })).toThrow("`maxSteps` must be a non-negative integer or -1");
    expect(() => new Trainer({ accumulateGradBatches: 0 })).toThrow("`accumulateGradBatches` must be a positive integer");
    expect(() => new Trainer({ gradientClipAlgorithm: "l1" as "norm" })).toThrow("`gradientClipAlgorithm` \"l1\" is invalid");
    expect(() => new Trainer({ numSanityValSteps: -3 })).toThrow("`numSanityValSteps` must be a non-negative integer or -1");
    expect(() => new Trainer({ valCheckInterval: 2.5 })).toThrow("invalid value 2.5 for valCheckInterval");
    expect(() => new Trainer({ checkValEveryNEpoch: 0 })).toThrow("`checkValEveryNEpoch` must be a positive integer");
    expect(() => new Trainer({ precision: 64 })).toThrow(MisconfigurationError);
    const Ckpt = new Trainer({ logger: false, enableProgressBar: false }).checkpointCallback!.constructor as new () => Callback;
    expect(() => new Trainer({ enableCheckpointing: false, callbacks: [new Ckpt()] })).toThrow(
      "Trainer was configured with `enableCheckpointing=false` but found `ModelCheckpoint` in callbacks list.",
    );
  });

  it("configureCallbacks: the module's callbacks join the Trainer's and replace those of the same class", async () => {
    const { ModelCheckpoint } = await import("lightning-ts");
    const mine = new ModelCheckpoint({ dirpath: tmpRoot(), filename: "mine" });
    class WithCallbacks extends EvalClassifier {
      override configureCallbacks() {
        return [mine, new Recorder()];
      }
    }
    manualSeed(0);
    const trainerRecorder = new Recorder();
    const t = new Trainer(baseOptions({ maxEpochs: 1, logger: false, callbacks: [trainerRecorder] }));
    expect(t.checkpointCallbacks).toHaveLength(1);
    await t.fit(new WithCallbacks());
    expect(t.checkpointCallbacks).toEqual([mine]);
    expect(t.callbacks.includes(trainerRecorder)).toBe(false);
    expect(t.callbacks[t.callbacks.length - 1]).toBe(mine); // checkpoint callbacks run last
    expect(trainerRecorder.epochsStarted).toBe(0);
    expect(fs.readdirSync(mine.dirpath!)).toEqual(["mine.ckpt"]);
  });

  it("configuration errors of the module are reported before training", async () => {
    class NoStep extends Classifier {}
    (NoStep.prototype as unknown as Record<string, unknown>).trainingStep = (Object.getPrototypeOf(Classifier.prototype) as Record<string, unknown>).trainingStep;
    await expect(new Trainer(baseOptions({ maxEpochs: 1 })).fit(new NoStep())).rejects.toThrow("No `trainingStep()` method defined.");
    class Multi extends Classifier {
      override configureOptimizers() {
        return [super.configureOptimizers(), super.configureOptimizers()];
      }
    }
    await expect(new Trainer(baseOptions({ maxEpochs: 1 })).fit(new Multi())).rejects.toThrow(
      "Training with multiple optimizers is only supported with manual optimization",
    );
    await expect(new Trainer(baseOptions()).test(new Classifier())).rejects.toThrow("No `testStep()` method defined to run `Trainer.test`.");
    await expect(new Trainer(baseOptions()).fit({} as LightningModule)).rejects.toThrow("`Trainer.fit()` requires a `LightningModule`");
  });
});
