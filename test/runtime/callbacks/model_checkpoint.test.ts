/**
 * ModelCheckpoint: file names (Lightning's documented examples), the default folder, top-k
 * (exactly k files on disk, the right ones, for min and max), last.ckpt, the version counter,
 * the missing-monitor error, step/epoch/validation triggers, and resuming the bookkeeping.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, it, expect, beforeAll, vi } from "vitest";
import { CSVLogger, MisconfigurationError } from "lightning-ts";
import { ModelCheckpoint } from "../../../src/runtime/callbacks/index";
import { usePureJsCpu, Tiny, TinyNoVal, Trainer, quietOptions, listDir, manualSeed, tmpDir, tf } from "./helpers";

beforeAll(usePureJsCpu);

async function fit(ckpt: ModelCheckpoint | null, module: Tiny, extra: Parameters<typeof quietOptions>[0] = {}): Promise<Trainer> {
  manualSeed(0);
  const trainer = new Trainer(quietOptions({ maxEpochs: 2, callbacks: ckpt ? [ckpt] : [], ...extra }));
  await trainer.fit(module);
  return trainer;
}

describe("formatCheckpointName (Lightning's documented examples)", () => {
  const dir = "/tmp/ckpts";
  const base = (filename: string | null, extra: ConstructorParameters<typeof ModelCheckpoint>[0] = {}) =>
    new ModelCheckpoint({ dirpath: dir, filename, ...extra });
  const name = (p: string) => path.basename(p);

  it("fills the template with `name=value` and Python format specs", () => {
    expect(name(base("{epoch}").formatCheckpointName({ epoch: 0 }))).toBe("epoch=0.ckpt");
    expect(name(base("{epoch:03d}").formatCheckpointName({ epoch: 5 }))).toBe("epoch=005.ckpt");
    expect(name(base("{epoch}-{val_loss:.2f}").formatCheckpointName({ epoch: 2, val_loss: 0.123456 }))).toBe("epoch=2-val_loss=0.12.ckpt");
    expect(name(base("{epoch}-{val_loss:.2f}").formatCheckpointName({ epoch: 2, val_loss: 0.12 }, "{epoch:d}"))).toBe("epoch=2.ckpt");
    expect(name(base("{missing:d}").formatCheckpointName({}))).toBe("missing=0.ckpt");
    // A metric without a spec prints as a Python float.
    expect(name(base("{val_loss}").formatCheckpointName({ val_loss: 0.5 }))).toBe("val_loss=0.5.ckpt");
    expect(name(base("{val_loss}").formatCheckpointName({ val_loss: 3 }))).toBe("val_loss=3.0.ckpt");
  });

  it("joins into dirpath, or gives a bare name without one", () => {
    expect(base(null).formatCheckpointName({ epoch: 3, step: 40 })).toBe(path.join(dir, "epoch=3-step=40.ckpt"));
    expect(new ModelCheckpoint({ filename: "{step}" }).formatCheckpointName({ step: 0 })).toBe("step=0.ckpt");
  });

  it("leaves the names out with autoInsertMetricName: false", () => {
    const cb = base("epoch={epoch}-validation_loss={val_loss:.2f}", { autoInsertMetricName: false });
    expect(name(cb.formatCheckpointName({ epoch: 2, val_loss: 0.123456 }))).toBe("epoch=2-validation_loss=0.12.ckpt");
    const slashed = base("epoch{epoch:02d}-val_acc{val/acc:.2f}", { autoInsertMetricName: false });
    expect(name(slashed.formatCheckpointName({ epoch: 2, "val/acc": 0.91 }))).toBe("epoch02-val_acc0.91.ckpt");
  });

  it("keeps metric names with slashes (a sub-folder, as in Lightning)", () => {
    expect(base("{val/acc:.2f}").formatCheckpointName({ "val/acc": 0.5 })).toBe(path.join(dir, "val", "acc=0.50.ckpt"));
  });

  it("does not let a key eat a longer key it prefixes", () => {
    expect(name(base("{epoch}-{epoch_test}").formatCheckpointName({ epoch: 1, epoch_test: 2 }))).toBe("epoch=1-epoch_test=2.0.ckpt");
  });

  it("adds the prefix and the version with CHECKPOINT_JOIN_CHAR, overridable per instance", () => {
    const cb = base("{epoch}");
    expect(name(cb.formatCheckpointName({ epoch: 1 }, null, 2, "pre"))).toBe("pre-epoch=1-v2.ckpt");
    cb.CHECKPOINT_JOIN_CHAR = "_";
    cb.CHECKPOINT_EQUALS_CHAR = ":";
    expect(name(cb.formatCheckpointName({ epoch: 1 }, null, 2))).toBe("epoch:1_v2.ckpt");
    expect(name(base("{epoch}").formatCheckpointName({ epoch: 1 }, null, 2))).toBe("epoch=1-v2.ckpt");
  });

  it("validates its arguments as Lightning does", () => {
    expect(() => new ModelCheckpoint({ saveTopK: -2 })).toThrow("Invalid value for saveTopK=-2. Must be >= -1");
    expect(() => new ModelCheckpoint({ saveTopK: 3 })).toThrow(MisconfigurationError);
    expect(() => new ModelCheckpoint({ mode: "avg" as "min" })).toThrow("`mode` can be min, max but got avg");
    expect(() => new ModelCheckpoint({ everyNTrainSteps: 2, everyNEpochs: 1 })).toThrow("should be mutually exclusive");
  });

  it("has Lightning's state key", () => {
    expect(new ModelCheckpoint({ monitor: "val_loss" }).stateKey).toBe(
      "ModelCheckpoint{'monitor': 'val_loss', 'mode': 'min', 'every_n_train_steps': 0, 'every_n_epochs': 1, 'train_time_interval': None}",
    );
    expect(new ModelCheckpoint({ trainTimeInterval: { hours: 1 } }).stateKey).toContain("'train_time_interval': datetime.timedelta(seconds=3600)");
  });
});

describe("ModelCheckpoint during fit", () => {
  it("writes epoch=E-step=S.ckpt into <defaultRootDir>/checkpoints by default, keeping only the latest", async () => {
    const trainer = await fit(null, new Tiny());
    const cb = trainer.checkpointCallback as ModelCheckpoint;
    expect(cb).toBeInstanceOf(ModelCheckpoint);
    const dir = path.join(trainer.defaultRootDir, "checkpoints");
    expect(cb.dirpath).toBe(dir);
    expect(listDir(dir)).toEqual(["epoch=1-step=8.ckpt"]);
    expect(cb.bestModelPath).toBe(path.join(dir, "epoch=1-step=8.ckpt"));
  });

  it("writes under the logger's version folder when there is a logger", async () => {
    const root = tmpDir();
    const trainer = await fit(new ModelCheckpoint(), new Tiny(), { logger: new CSVLogger(root), defaultRootDir: root });
    const dir = path.join(root, "lightning_logs", "version_0", "checkpoints");
    expect((trainer.checkpointCallback as ModelCheckpoint).dirpath).toBe(dir);
    expect(listDir(dir)).toEqual(["epoch=1-step=8.ckpt"]);
  });

  const scores = [3, 1, 2, 0.5, 4];

  it("saveTopK=2, mode min: exactly the two lowest scores stay on disk", async () => {
    const cb = new ModelCheckpoint({ monitor: "val_score", saveTopK: 2, filename: "{epoch}-{val_score:.1f}" });
    await fit(cb, new Tiny({ valScores: scores }), { maxEpochs: 5 });
    const dir = cb.dirpath!;
    expect(listDir(dir)).toEqual(["epoch=1-val_score=1.0.ckpt", "epoch=3-val_score=0.5.ckpt"]);
    expect(cb.bestModelPath).toBe(path.join(dir, "epoch=3-val_score=0.5.ckpt"));
    expect(cb.bestModelScore).toBe(0.5);
    expect(cb.kthBestModelPath).toBe(path.join(dir, "epoch=1-val_score=1.0.ckpt"));
    expect(cb.kthValue).toBe(1);
    expect(cb.bestKModels).toEqual({
      [path.join(dir, "epoch=1-val_score=1.0.ckpt")]: 1,
      [path.join(dir, "epoch=3-val_score=0.5.ckpt")]: 0.5,
    });
  });

  it("saveTopK=2, mode max: exactly the two highest scores stay on disk", async () => {
    const cb = new ModelCheckpoint({ monitor: "val_score", mode: "max", saveTopK: 2, filename: "{epoch}-{val_score:.1f}" });
    await fit(cb, new Tiny({ valScores: scores }), { maxEpochs: 5 });
    expect(listDir(cb.dirpath!)).toEqual(["epoch=0-val_score=3.0.ckpt", "epoch=4-val_score=4.0.ckpt"]);
    expect(cb.bestModelScore).toBe(4);
    expect(path.basename(cb.bestModelPath)).toBe("epoch=4-val_score=4.0.ckpt");
  });

  it("saveTopK=3 over a longer run keeps the three best", async () => {
    const cb = new ModelCheckpoint({ monitor: "val_score", saveTopK: 3, filename: "{epoch}" });
    await fit(cb, new Tiny({ valScores: [5, 4, 6, 3, 7, 2, 8] }), { maxEpochs: 7 });
    expect(listDir(cb.dirpath!)).toEqual(["epoch=1.ckpt", "epoch=3.ckpt", "epoch=5.ckpt"]);
  });

  it("saveTopK=-1 keeps every checkpoint; saveTopK=0 writes none", async () => {
    const all = new ModelCheckpoint({ monitor: "val_score", saveTopK: -1, filename: "{epoch}" });
    await fit(all, new Tiny({ valScores: scores }), { maxEpochs: 5 });
    expect(listDir(all.dirpath!)).toEqual(["epoch=0.ckpt", "epoch=1.ckpt", "epoch=2.ckpt", "epoch=3.ckpt", "epoch=4.ckpt"]);
    expect(Object.keys(all.bestKModels)).toHaveLength(5);

    const none = new ModelCheckpoint({ monitor: "val_score", saveTopK: 0 });
    await fit(none, new Tiny({ valScores: scores }), { maxEpochs: 3 });
    expect(listDir(none.dirpath!)).toEqual([]);
    expect(none.bestModelPath).toBe("");
  });

  it("keeps the first of equal scores (strictly better replaces) and ranks NaN worst", async () => {
    const ties = new ModelCheckpoint({ monitor: "val_score", filename: "{epoch}" });
    await fit(ties, new Tiny({ valScores: [1, 1, 1] }), { maxEpochs: 3 });
    expect(listDir(ties.dirpath!)).toEqual(["epoch=0.ckpt"]);

    const nan = new ModelCheckpoint({ monitor: "val_score", filename: "{epoch}" });
    await fit(nan, new Tiny({ valScores: [NaN, 7] }), { maxEpochs: 2 });
    expect(listDir(nan.dirpath!)).toEqual(["epoch=1.ckpt"]);
    expect(nan.bestModelScore).toBe(7);
  });

  it("saveLast keeps last.ckpt beside the top-k; 'link' makes it a relative symlink", async () => {
    const cb = new ModelCheckpoint({ monitor: "val_score", saveLast: true, filename: "{epoch}" });
    const trainer = await fit(cb, new Tiny({ valScores: [2, 3, 4] }), { maxEpochs: 3 });
    expect(listDir(cb.dirpath!)).toEqual(["epoch=0.ckpt", "last.ckpt"]);
    expect(cb.lastModelPath).toBe(path.join(cb.dirpath!, "last.ckpt"));
    expect(fs.lstatSync(cb.lastModelPath).isSymbolicLink()).toBe(false);
    expect(cb.findLastCheckpoints(trainer)).toEqual(new Set([cb.lastModelPath]));

    const link = new ModelCheckpoint({ saveLast: "link" });
    await fit(link, new Tiny(), { maxEpochs: 2 });
    const last = path.join(link.dirpath!, "last.ckpt");
    expect(listDir(link.dirpath!)).toEqual(["epoch=1-step=8.ckpt", "last.ckpt"]);
    expect(fs.lstatSync(last).isSymbolicLink()).toBe(true);
    expect(fs.readlinkSync(last)).toBe("epoch=1-step=8.ckpt");
  });

  it("appends -v1, -v2 on name clashes, or overwrites with enableVersionCounter: false", async () => {
    const counted = new ModelCheckpoint({ monitor: "val_score", saveTopK: -1, filename: "ckpt" });
    await fit(counted, new Tiny(), { maxEpochs: 3 });
    expect(listDir(counted.dirpath!)).toEqual(["ckpt-v1.ckpt", "ckpt-v2.ckpt", "ckpt.ckpt"]);

    const overwrite = new ModelCheckpoint({ monitor: "val_score", saveTopK: -1, filename: "ckpt", enableVersionCounter: false });
    await fit(overwrite, new Tiny(), { maxEpochs: 3 });
    expect(listDir(overwrite.dirpath!)).toEqual(["ckpt.ckpt"]);
  });

  it("does not overwrite a file that was there before (and warns the folder is not empty)", async () => {
    const dir = tmpDir();
    fs.writeFileSync(path.join(dir, "epoch=0-step=4.ckpt"), "someone else's");
    const warn = vi.spyOn(console, "warn").mockImplementation(() => {});
    const cb = new ModelCheckpoint({ dirpath: dir });
    await fit(cb, new Tiny(), { maxEpochs: 1 });
    expect(warn.mock.calls.map((c) => String(c[0])).some((m) => m.includes(`Checkpoint directory ${dir} exists and is not empty.`))).toBe(true);
    warn.mockRestore();
    expect(listDir(dir)).toEqual(["epoch=0-step=4-v1.ckpt", "epoch=0-step=4.ckpt"]);
    expect(fs.readFileSync(path.join(dir, "epoch=0-step=4.ckpt"), "utf8")).toBe("someone else's");
  });

  it("raises Lightning's error, listing the available keys, when the monitored key was never logged", async () => {
    const cb = new ModelCheckpoint({ monitor: "val/nope" });
    const err = await fit(cb, new Tiny(), { maxEpochs: 2 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(MisconfigurationError);
    expect((err as Error).message).toBe(
      "`ModelCheckpoint(monitor='val/nope')` could not find the monitored key in the returned metrics: " +
        "['train_loss', 'val_loss', 'val_score', 'epoch', 'step']. HINT: Did you call `log('val/nope', value)` in the `LightningModule`?",
    );
  });

  it("only warns about a missing key before any validation ran, and saves nothing", async () => {
    const warn = vi.spyOn(console, "warn").mockImplementation(() => {});
    const cb = new ModelCheckpoint({ monitor: "val_score" });
    await fit(cb, new TinyNoVal(), { maxEpochs: 2 });
    expect(warn.mock.calls.some((c) => String(c[0]).includes("could not find the monitored key"))).toBe(true);
    warn.mockRestore();
    expect(listDir(cb.dirpath!)).toEqual([]);
  });

  it("everyNTrainSteps saves every N optimizer steps (and not at epoch end)", async () => {
    const cb = new ModelCheckpoint({ everyNTrainSteps: 3, saveTopK: -1, filename: "{step}" });
    await fit(cb, new Tiny(), { maxEpochs: 2 });
    expect(listDir(cb.dirpath!)).toEqual(["step=3.ckpt", "step=6.ckpt"]);
  });

  it("everyNEpochs saves every N epochs", async () => {
    const cb = new ModelCheckpoint({ everyNEpochs: 2, saveTopK: -1, filename: "{epoch}" });
    await fit(cb, new Tiny(), { maxEpochs: 5 });
    expect(listDir(cb.dirpath!)).toEqual(["epoch=1.ckpt", "epoch=3.ckpt"]);
  });

  it("saves after each validation when validation runs twice per epoch", async () => {
    const cb = new ModelCheckpoint({ saveTopK: -1 });
    await fit(cb, new Tiny(), { maxEpochs: 2, valCheckInterval: 0.5 });
    expect(listDir(cb.dirpath!)).toEqual(["epoch=0-step=2.ckpt", "epoch=0-step=4.ckpt", "epoch=1-step=6.ckpt", "epoch=1-step=8.ckpt"]);
  });

  it("defers a step-triggered save of a validation metric until validation produced it", async () => {
    // 4 batches per epoch, validation every 2 (after steps 2, 4, 6, 8). Step 2: no value yet, so the
    // save waits for that validation (7). Steps 4 and 8 end an epoch: Lightning waits for the fresh
    // value (8, 6). Step 6 is mid-epoch with a value present: saved at once with the previous one (8).
    const cb = new ModelCheckpoint({ monitor: "val_score", everyNTrainSteps: 2, saveTopK: -1, filename: "{step}-{val_score:.0f}" });
    await fit(cb, new Tiny({ valScores: [7, 8, 9, 6] }), { maxEpochs: 2, valCheckInterval: 0.5 });
    expect(listDir(cb.dirpath!)).toEqual(["step=2-val_score=7.ckpt", "step=4-val_score=8.ckpt", "step=6-val_score=8.ckpt", "step=8-val_score=6.ckpt"]);
  });

  it("trainTimeInterval saves when the interval has passed (every step for a zero interval)", async () => {
    const cb = new ModelCheckpoint({ trainTimeInterval: { seconds: 0 }, saveTopK: -1, filename: "{step}" });
    await fit(cb, new Tiny(), { maxEpochs: 1 });
    expect(listDir(cb.dirpath!)).toEqual(["step=1.ckpt", "step=2.ckpt", "step=3.ckpt", "step=4.ckpt"]);
    const hourly = new ModelCheckpoint({ trainTimeInterval: { hours: 1 }, saveTopK: -1, filename: "{step}" });
    await fit(hourly, new Tiny(), { maxEpochs: 1 });
    expect(listDir(hourly.dirpath!)).toEqual([]);
  });

  it("saveOnException writes a checkpoint of the state reached when training fails", async () => {
    class Failing extends Tiny {
      override trainingStep(batch: [tf.Tensor, tf.Tensor]): tf.Tensor {
        if (this.globalStep === 3) throw new Error("boom");
        return super.trainingStep(batch);
      }
    }
    const cb = new ModelCheckpoint({ saveOnException: true });
    await expect(fit(cb, new Failing(), { maxEpochs: 2 })).rejects.toThrow("boom");
    expect(listDir(cb.dirpath!)).toEqual(["epoch=0-step=3.ckpt"]);
  });

  it("saves nothing under fastDevRun", async () => {
    const cb = new ModelCheckpoint({ saveLast: true });
    await fit(cb, new Tiny(), { fastDevRun: 2 });
    expect(listDir(cb.dirpath!)).toEqual([]);
  });

  it("restores its top-k bookkeeping on resume, so the folder still holds exactly k best", async () => {
    const dir = tmpDir();
    const script = [3, 1, 2, 0.5, 4, 0.2];
    const first = new ModelCheckpoint({ dirpath: dir, monitor: "val_score", saveTopK: 2, saveLast: true, filename: "{epoch}" });
    await fit(first, new Tiny({ valScores: script, scoreBy: "epoch" }), { maxEpochs: 3 });
    expect(listDir(dir)).toEqual(["epoch=1.ckpt", "epoch=2.ckpt", "last.ckpt"]);

    const second = new ModelCheckpoint({ dirpath: dir, monitor: "val_score", saveTopK: 2, saveLast: true, filename: "{epoch}" });
    manualSeed(0);
    const trainer = new Trainer(quietOptions({ maxEpochs: 6, callbacks: [second] }));
    await trainer.fit(new Tiny({ valScores: script, scoreBy: "epoch" }), { ckptPath: path.join(dir, "last.ckpt") });
    expect(trainer.currentEpoch).toBe(6);
    expect(listDir(dir)).toEqual(["epoch=3.ckpt", "epoch=5.ckpt", "last.ckpt"]);
    expect(second.bestModelScore).toBeCloseTo(0.2, 6);
    expect(path.basename(second.bestModelPath)).toBe("epoch=5.ckpt");
  });

  it("stateDict/loadStateDict round-trips, and a changed dirpath keeps only bestModelPath", () => {
    const a = new ModelCheckpoint({ dirpath: "/x/ckpts", monitor: "m", saveTopK: 2 });
    a.bestKModels = { "/x/ckpts/a.ckpt": 0.3, "/x/ckpts/b.ckpt": 0.1 };
    a.bestModelPath = "/x/ckpts/b.ckpt";
    a.bestModelScore = 0.1;
    a.kthBestModelPath = "/x/ckpts/a.ckpt";
    a.kthValue = 0.3;
    a.lastModelPath = "/x/ckpts/last.ckpt";
    const state = a.stateDict();

    const b = new ModelCheckpoint({ dirpath: "/x/ckpts", monitor: "m", saveTopK: 2 });
    b.loadStateDict(state);
    expect(b.stateDict()).toEqual(state);

    const warn = vi.spyOn(console, "warn").mockImplementation(() => {});
    const c = new ModelCheckpoint({ dirpath: "/y/elsewhere", monitor: "m", saveTopK: 2 });
    c.loadStateDict(state);
    expect(warn.mock.calls.some((w) => String(w[0]).includes("The dirpath has changed from '/x/ckpts' to '/y/elsewhere'"))).toBe(true);
    warn.mockRestore();
    expect(c.bestModelPath).toBe("/x/ckpts/b.ckpt");
    expect(c.bestKModels).toEqual({});
    expect(c.bestModelScore).toBeNull();
  });
});
