/** `this.log`: Lightning's per-hook defaults, aggregation, names, destinations, errors; hyperparameters on disk. */
import { describe, it, expect, beforeAll, vi } from "vitest";
import * as fs from "node:fs";
import * as path from "node:path";
import { Trainer, Callback, LightningModule, LightningDataModule, CSVLogger, type LogOptions } from "lightning-ts";
import { usePureJsCpu, baseOptions, tmpRoot, Classifier, EvalClassifier, Mlp, dataset, manualSeed, tf, F, optim, data, load } from "./helpers";

const quiet = { logger: false, enableCheckpointing: false, numSanityValSteps: 0 } as const;

/** Logs the 1-based batch index (so means are easy to compute) from the training and validation steps. */
class Logs extends EvalClassifier {
  constructor(
    private readonly trainOpts: LogOptions = {},
    private readonly valOpts: LogOptions = {},
  ) {
    super({ n: 40 }); // batches of 16, 16, 8
  }
  override trainingStep(batch: [tf.Tensor, tf.Tensor], i: number): tf.Tensor {
    this.log("idx", i + 1, this.trainOpts);
    return super.trainingStep(batch);
  }
  override validationStep(_batch: [tf.Tensor, tf.Tensor], i: number): void {
    this.log("vidx", tf.scalar(i + 1), this.valOpts);
  }
}

async function fit(model: LightningModule, opts: Record<string, unknown> = {}) {
  const trainer = new Trainer(baseOptions({ ...quiet, maxEpochs: 1, ...opts }));
  await trainer.fit(model);
  return trainer;
}

describe("this.log", () => {
  beforeAll(usePureJsCpu);

  it("training default is onStep only; validation default is onEpoch, the mean weighted by batch size", async () => {
    const t = await fit(new Logs());
    expect(t.callbackMetrics.idx).toBe(3); // last step's value
    expect(t.callbackMetrics.vidx).toBeCloseTo((1 * 16 + 2 * 16 + 3 * 8) / 40, 12); // 40 val samples: 16, 16, 8
    expect(t.callbackMetrics).not.toHaveProperty("idx_epoch");
    expect(t.callbackMetrics).not.toHaveProperty("vidx_step");
  });

  it("onStep and onEpoch together give name_step and name_epoch; the epoch value is the batch-size-weighted mean", async () => {
    const t = await fit(new Logs({ onStep: true, onEpoch: true }, { onStep: true, onEpoch: true }), { logger: new CSVLogger(tmpRoot()) });
    const mean = (1 * 16 + 2 * 16 + 3 * 8) / 40;
    expect(t.loggedMetrics.idx_epoch).toBeCloseTo(mean, 12);
    expect(t.loggedMetrics.idx_step).toBe(3);
    expect(t.callbackMetrics.idx).toBeCloseTo(mean, 12); // at the epoch end the plain name is the epoch value
    expect(t.callbackMetrics.idx_step).toBe(3);
    expect(t.callbackMetrics.idx_epoch).toBeCloseTo(mean, 12);
    expect(t.loggedMetrics.vidx_epoch).toBeCloseTo(mean, 12);
    // Validation step values never enter callbackMetrics (Lightning's rule).
    expect(t.callbackMetrics).not.toHaveProperty("vidx_step");
  });

  it('reduceFx "sum", "max", "min", explicit batchSize, logDict, progBar', async () => {
    class Reduce extends Logs {
      override trainingStep(batch: [tf.Tensor, tf.Tensor], i: number): tf.Tensor {
        this.log("s", i + 1, { onEpoch: true, onStep: false, reduceFx: "sum" });
        this.log("mx", i + 1, { onEpoch: true, onStep: false, reduceFx: "max" });
        this.log("mn", i + 1, { onEpoch: true, onStep: false, reduceFx: "min" });
        this.log("w", i + 1, { onEpoch: true, onStep: false, batchSize: i === 0 ? 3 : 1 });
        this.logDict({ d1: 1, d2: tf.scalar(2) }, { progBar: true });
        return super.trainingStep(batch, i);
      }
    }
    const t = await fit(new Reduce());
    expect(t.callbackMetrics.s).toBe(6);
    expect(t.callbackMetrics.mx).toBe(3);
    expect(t.callbackMetrics.mn).toBe(1);
    expect(t.callbackMetrics.w).toBeCloseTo((1 * 3 + 2 + 3) / 5, 12);
    expect(t.progressBarMetrics).toEqual({ d1: 1, d2: 2 });
  });

  it("callbacks can log with the rules of the hook they are in", async () => {
    class FromCallback extends Callback {
      override onTrainBatchEnd(_t: Trainer, m: LightningModule): void {
        m.log("cb_step", 7);
      }
      override onValidationEpochEnd(_t: Trainer, m: LightningModule): void {
        m.log("cb_val", 5);
      }
    }
    const t = await fit(new EvalClassifier(), { callbacks: [new FromCallback()] });
    expect(t.callbackMetrics.cb_step).toBe(7);
    expect(t.callbackMetrics.cb_val).toBe(5);
  });

  it("refuses logging where Lightning does, and bad values, with Lightning's messages", async () => {
    const failing = (hook: string, body: (m: LightningModule) => void) =>
      fit(
        new (class extends EvalClassifier {
          constructor() {
            super();
            (this as unknown as Record<string, unknown>)[hook] = function (this: LightningModule, ...args: unknown[]) {
              body(this);
              return (EvalClassifier.prototype as unknown as Record<string, (...a: unknown[]) => unknown>)[hook].apply(this, args);
            };
          }
        })(),
      );
    await expect(failing("configureOptimizers", (m) => m.log("x", 1))).rejects.toThrow("You can't `this.log()` inside `configureOptimizers`.");
    await expect(failing("onTrainEpochEnd", (m) => m.log("x", 1, { onStep: true }))).rejects.toThrow("You can't `this.log(onTrainEpochEnd, { onStep: true })`");
    await expect(failing("onTrainBatchEnd", (m) => m.log("x", tf.ones([2])))).rejects.toThrow("the tensor must have a single element");
    await expect(failing("onTrainBatchEnd", (m) => m.log("x/dataloader_idx_0", 1))).rejects.toThrow("it should not contain information about `dataloader_idx`");
    await expect(failing("onTrainBatchEnd", (m) => m.log("x", { a: 1 } as unknown as number))).rejects.toThrow("use `this.logDict(...)`");
    await expect(failing("onTrainBatchEnd", (m) => m.log("x", 1, { reduceFx: "median" as "mean" }))).rejects.toThrow('Only `this.log(..., { reduceFx: "min" | "max" | "mean" | "sum" })` are supported');
    await expect(
      failing("onTrainBatchEnd", (m) => {
        m.log("x", 1);
        m.log("x", 1, { progBar: true });
      }),
    ).rejects.toThrow("You called `this.log(x, ...)` twice in `onTrainBatchEnd` with different arguments. This is not allowed");
    // Without a Trainer: a warning, not an error (steps can be unit-tested).
    const warn = vi.spyOn(console, "warn").mockImplementation(() => {});
    new Classifier().log("x", 1);
    expect(warn.mock.calls.flat().join("\n")).toContain("the `this.trainer` reference is not registered on the model yet");
    warn.mockRestore();
  });

  it("several validation dataloaders: `/dataloader_idx_N` names, one result per dataloader", async () => {
    class Two extends EvalClassifier {
      override valDataloader() {
        return [new data.DataLoader(dataset(16, 1), { batchSize: 16 }), new data.DataLoader(dataset(8, 2), { batchSize: 8 })];
      }
      override validationStep(_b: [tf.Tensor, tf.Tensor], _i: number, dl = 0): void {
        this.log("v", dl + 10);
      }
      override onValidationEpochEnd(): void {
        this.log("both", 1);
      }
    }
    const t = new Trainer(baseOptions({ ...quiet }));
    const results = await t.validate(new Two(), { verbose: false });
    expect(results).toEqual([
      { "v/dataloader_idx_0": 10, both: 1 },
      { "v/dataloader_idx_1": 11, both: 1 },
    ]);
    expect(t.callbackMetrics).toMatchObject({ "v/dataloader_idx_0": 10, "v/dataloader_idx_1": 11, both: 1 });
  });

  it("metrics.csv: step values every logEveryNSteps optimizer steps, epoch values at each epoch end, validation at its step", async () => {
    const root = tmpRoot();
    manualSeed(0);
    class M extends Logs {
      constructor() {
        super({ onStep: true, onEpoch: true }, {});
      }
    }
    const t = new Trainer({ maxEpochs: 2, logEveryNSteps: 2, numSanityValSteps: 0, enableProgressBar: false, defaultRootDir: root });
    const warn = vi.spyOn(console, "warn").mockImplementation(() => {});
    await t.fit(new M());
    warn.mockRestore();
    const csv = fs.readFileSync(path.join(t.logDir, "metrics.csv"), "utf8").trim().split(/\r?\n/); // Python csv: CRLF
    expect(csv[0]).toBe("epoch,idx_epoch,idx_step,step,train_loss,vidx");
    const rows = csv.slice(1).map((l) => l.split(","));
    const col = (name: string) => csv[0].split(",").indexOf(name);
    // 3 batches per epoch: step rows at steps 1 and 3 (every 2nd optimizer step), per epoch one validation row and one epoch row.
    expect(rows.map((r) => [r[col("epoch")], r[col("step")], r[col("idx_step")] !== "", r[col("vidx")] !== "", r[col("idx_epoch")] !== ""])).toEqual([
      ["0", "1", true, false, false],
      ["0", "2", false, true, false],
      ["0", "2", false, false, true],
      ["1", "3", true, false, false],
      ["1", "5", true, false, false],
      ["1", "5", false, true, false],
      ["1", "5", false, false, true],
    ]);
    expect(Number(rows[2][col("idx_epoch")])).toBeCloseTo((1 * 16 + 2 * 16 + 3 * 8) / 40, 12);
  });
});

describe("hyperparameters", () => {
  beforeAll(usePureJsCpu);

  it("saveHyperparameters(): the constructor's parameter properties, to hparams.yaml and the checkpoint", async () => {
    // SPEC §4's module shape: `constructor(private readonly args)`.
    class HP extends LightningModule {
      model = new Mlp();
      constructor(private readonly args: { lr: number; hidden: number[]; name: string }) {
        super();
        this.saveHyperparameters();
      }
      override forward(x: tf.Tensor): tf.Tensor {
        return this.model.forward(x);
      }
      override trainingStep([x, y]: [tf.Tensor, tf.Tensor]): tf.Tensor {
        return F.crossEntropy(this.forward(x), y);
      }
      override configureOptimizers() {
        return new optim.Adam(this.parameters(), { lr: this.args.lr });
      }
      override trainDataloader() {
        return new data.DataLoader(dataset(32), { batchSize: 16 });
      }
    }
    const root = tmpRoot();
    manualSeed(0);
    const model = new HP({ lr: 0.01, hidden: [16, 8], name: "mlp" });
    expect(model.hparams).toEqual({ args: { lr: 0.01, hidden: [16, 8], name: "mlp" } });
    const t = new Trainer({ maxEpochs: 1, enableProgressBar: false, defaultRootDir: root });
    const warn = vi.spyOn(console, "warn").mockImplementation(() => {});
    await t.fit(model);
    warn.mockRestore();
    expect(fs.readFileSync(path.join(t.logDir, "hparams.yaml"), "utf8")).toBe("args:\n  hidden:\n  - 16\n  - 8\n  lr: 0.01\n  name: mlp\n");
    const ckpt = await load<Record<string, unknown>>(t.checkpointCallback!.bestModelPath);
    expect(ckpt.hyperParameters).toEqual({ args: { lr: 0.01, hidden: [16, 8], name: "mlp" } });
  });

  it("explicit objects, names and ignore; module and datamodule hyperparameters are merged for the loggers", async () => {
    class HP extends Classifier {
      lr = 0.1;
      depth = 3;
      constructor() {
        super();
        this.saveHyperparameters(["lr", "depth"]);
        this.saveHyperparameters({ extra: true, drop: "x" }, { ignore: "drop" });
      }
    }
    class DM extends LightningDataModule {
      constructor() {
        super();
        this.saveHyperparameters({ batchSize: 16 });
      }
      override trainDataloader() {
        return new data.DataLoader(dataset(32), { batchSize: 16 });
      }
    }
    const model = new HP();
    expect(model.hparams).toEqual({ lr: 0.1, depth: 3, extra: true });
    const logged: Array<Record<string, unknown>> = [];
    const logger = new CSVLogger(tmpRoot());
    logger.logHyperparams = (p: Record<string, unknown>) => void logged.push(p);
    await new Trainer(baseOptions({ maxEpochs: 1, logger, enableCheckpointing: false })).fit(model, { datamodule: new DM() });
    expect(logged).toEqual([{ lr: 0.1, depth: 3, extra: true, batchSize: 16 }]);
  });
});

