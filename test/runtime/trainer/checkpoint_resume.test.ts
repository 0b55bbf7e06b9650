/**
 * Checkpoints: contents, `ckptPath` ("last", "best", a path), and exact resumption — N epochs
 * straight equal k epochs + resume (same loss trace, bit-identical weights), with shuffling,
 * dropout, Adam, an epoch scheduler and a plateau scheduler; also from a checkpoint taken in the
 * middle of an epoch.
 */
import { describe, it, expect, beforeAll, vi } from "vitest";
import * as fs from "node:fs";
import * as path from "node:path";
import { spawn } from "node:child_process";
import { Trainer, Callback, ModelCheckpoint, CSVLogger, type CheckpointDict } from "lightning-ts";
import { usePureJsCpu, baseOptions, tmpRoot, EvalClassifier, manualSeed, withLossTrace, snapshot, optim, load } from "./helpers";
import { sourceConditionFlags } from "../../../src/cli/source_condition";

/** Dropout, a shuffled loader, Adam, StepLR per epoch and ReduceLROnPlateau on val_loss. */
class Resumable extends EvalClassifier {
  override configureOptimizers() {
    const opt = new optim.Adam(this.parameters(), { lr: 0.02 });
    const step = new optim.lrScheduler.StepLR(opt, { stepSize: 1, gamma: 0.9 });
    // Only a 50% improvement counts: the lr is halved after every epoch but the first.
    const plateau = new optim.lrScheduler.ReduceLROnPlateau(opt, { patience: 0, factor: 0.5, threshold: 0.5 });
    return [
      [opt],
      [step, { scheduler: plateau, monitor: "val_loss" }],
    ] as unknown as ReturnType<EvalClassifier["configureOptimizers"]>;
  }
}

interface RunResult {
  trace: number[];
  weights: number[][];
  lr: number;
  globalStep: number;
  epoch: number;
  trainer: Trainer;
}

async function run(opts: Record<string, unknown>, fitOpts: { ckptPath?: string } = {}, seed = 4): Promise<RunResult> {
  let trainer!: Trainer;
  let model!: Resumable;
  const trace = await withLossTrace(async () => {
    manualSeed(seed);
    model = new Resumable();
    trainer = new Trainer(baseOptions({ logger: false, ...opts }));
    await trainer.fit(model, fitOpts);
  });
  return {
    trace,
    weights: snapshot(model.parameters()),
    lr: trainer.optimizers[0].paramGroups[0].lr,
    globalStep: trainer.globalStep,
    epoch: trainer.currentEpoch,
    trainer,
  };
}

describe("checkpoints", () => {
  beforeAll(usePureJsCpu);

  it("hold Lightning's entries (camelCase) including loops, callbacks, optimizers, schedulers, precision, RNG and data order", async () => {
    const r = await run({ maxEpochs: 1 });
    const file = r.trainer.checkpointCallback!.bestModelPath;
    expect(path.basename(file)).toBe("epoch=0-step=4.ckpt");
    const ckpt = await load<CheckpointDict>(file);
    expect(Object.keys(ckpt).sort()).toEqual(
      ["callbacks", "epoch", "globalStep", "lightning_ts_version", "loops", "lrSchedulers", "optimizerStates", "precision", "rngStates", "stateDict"].sort(),
    );
    expect(ckpt.epoch).toBe(0);
    expect(ckpt.globalStep).toBe(4);
    expect(ckpt.lightning_ts_version).toMatch(/^\d+\.\d+\.\d+/);
    expect(Object.keys(ckpt.stateDict)).toEqual(["model.fc1.weight", "model.fc1.bias", "model.fc2.weight", "model.fc2.bias"]);
    expect(ckpt.optimizerStates).toHaveLength(1);
    expect(ckpt.lrSchedulers).toHaveLength(2);
    expect(ckpt.precision).toEqual({ name: "32-true", state: {} });
    expect(Object.keys(ckpt.rngStates!)).toEqual(["init", "data", "ops"]);
    expect(Object.keys(ckpt.loops)).toEqual(["fitLoop", "validateLoop", "testLoop", "predictLoop"]);
    const fitLoop = ckpt.loops.fitLoop as Record<string, any>;
    expect(fitLoop.epochProgress.current).toEqual({ ready: 1, started: 1, processed: 1, completed: 0 });
    expect(fitLoop.dataloaders.train.now).toHaveLength(1); // the shuffling loader's generator
    expect(Object.keys(ckpt.callbacks!)[0]).toMatch(/^ModelCheckpoint\{/);
  });

  it("resume at an epoch end is exact: 2 epochs + 2 resumed = 4 straight (trace, weights, lr, counters)", async () => {
    const straight = await run({ maxEpochs: 4 });
    const first = await run({ maxEpochs: 2 });
    const ckpt = first.trainer.checkpointCallback!.bestModelPath;
    expect(path.basename(ckpt)).toBe("epoch=1-step=8.ckpt");
    const resumed = await run({ maxEpochs: 4 }, { ckptPath: ckpt }, 99); // a different seed: everything random comes from the checkpoint
    expect(straight.trace).toHaveLength(16);
    expect([...first.trace, ...resumed.trace]).toEqual(straight.trace);
    expect(resumed.weights).toEqual(straight.weights);
    expect(resumed.lr).toBe(straight.lr);
    expect(straight.lr).toBeLessThan(0.02 * 0.9 ** 4); // the plateau scheduler did act
    expect(resumed.globalStep).toBe(16);
    expect(resumed.epoch).toBe(4);
    expect(resumed.trainer.ckptPath).toBe(ckpt);
  });

  it("resume from the middle of an epoch is exact (same data order, dropout masks and optimizer state)", async () => {
    const dir = tmpRoot();
    const file = path.join(dir, "mid.ckpt");
    class SaveAtStep6 extends Callback {
      override async onTrainBatchEnd(trainer: Trainer): Promise<void> {
        if (trainer.globalStep === 6) await trainer.saveCheckpoint(file);
      }
    }
    const straight = await run({ maxEpochs: 3, enableCheckpointing: false });
    const first = await run({ maxSteps: 6, enableCheckpointing: false, callbacks: [new SaveAtStep6()] });
    const ckpt = await load<CheckpointDict>(file);
    // Saved in onTrainBatchEnd of batch 1 of epoch 1: processed, not yet completed.
    expect((ckpt.loops.fitLoop as Record<string, any>).epochLoop.batchProgress.current).toMatchObject({ processed: 2, completed: 1 });
    const resumed = await run({ maxEpochs: 3, enableCheckpointing: false }, { ckptPath: file }, 123);
    expect([...first.trace, ...resumed.trace]).toEqual(straight.trace);
    expect(resumed.weights).toEqual(straight.weights);
    expect(resumed.lr).toBe(straight.lr);
    expect(resumed.globalStep).toBe(12);
  });

  it('ckptPath "last" and "best"; test() without a model uses the best checkpoint of the last fit', async () => {
    const root = tmpRoot();
    const trainer = new Trainer(baseOptions({ maxEpochs: 2, logger: false, defaultRootDir: root, callbacks: [new ModelCheckpoint({ saveLast: true })] }));
    manualSeed(0);
    const model = new Resumable();
    await trainer.fit(model);
    expect(fs.readdirSync(path.join(root, "checkpoints")).sort()).toEqual(["epoch=1-step=8.ckpt", "last.ckpt"]);
    const direct = await trainer.test(model, { verbose: false });
    const warn = vi.spyOn(console, "warn").mockImplementation(() => {});
    const best = await trainer.test(undefined, { verbose: false });
    expect(warn.mock.calls.flat().join("\n")).toContain("`.test(ckptPath=null)` was called without a model. The best model of the previous `fit` call will be used.");
    warn.mockRestore();
    expect(best).toEqual(direct);
    expect(trainer.ckptPath).toBe(path.join(root, "checkpoints", "epoch=1-step=8.ckpt"));
    // "last": continue training from last.ckpt with a new Trainer in the same folder. The step
    // count alone cannot tell a resume from a fresh 3-epoch run (both end at 12), so the
    // restored path is checked too.
    const more = new Trainer(baseOptions({ maxEpochs: 3, logger: false, defaultRootDir: root, callbacks: [new ModelCheckpoint({ saveLast: true })] }));
    manualSeed(0);
    await more.fit(new Resumable(), { ckptPath: "last" });
    expect(more.ckptPath).toBe(path.join(root, "checkpoints", "last.ckpt"));
    expect(more.globalStep).toBe(12);
    await expect(new Trainer(baseOptions({ logger: false, enableCheckpointing: false })).test(new Resumable(), { ckptPath: "best" })).rejects.toThrow(
      '`.test(ckptPath="best")` is set but `ModelCheckpoint` is not configured.',
    );
  });

  it('ckptPath "last" with a new Trainer finds last.ckpt in the default folder and resumes exactly (not from scratch)', async () => {
    // The default folder (`<defaultRootDir>/checkpoints` without a logger) is only stored on the
    // callback at setup, after `ckptPath` is resolved: the new Trainer must resolve it itself.
    const root = tmpRoot();
    const straight = await run({ maxEpochs: 4, enableCheckpointing: false });
    const first = await run({ maxEpochs: 2, defaultRootDir: root, callbacks: [new ModelCheckpoint({ saveLast: true })] });
    const last = path.join(root, "checkpoints", "last.ckpt");
    expect(fs.existsSync(last)).toBe(true);
    // A file that merely contains "last" (and is newer) is not a last checkpoint.
    fs.copyFileSync(path.join(root, "checkpoints", "epoch=1-step=8.ckpt"), path.join(root, "checkpoints", "not-last.ckpt"));
    const warn = vi.spyOn(console, "warn").mockImplementation(() => {});
    let resumed: RunResult;
    try {
      // A different seed: a run that silently started from scratch would differ at once.
      resumed = await run({ maxEpochs: 4, defaultRootDir: root, callbacks: [new ModelCheckpoint({ saveLast: true })] }, { ckptPath: "last" }, 99);
    } finally {
      warn.mockRestore();
    }
    expect(warn.mock.calls.flat().join("\n")).not.toContain("there is no last checkpoint available");
    expect(resumed.trainer.ckptPath).toBe(last);
    // Two epochs of 4 batches were left: a from-scratch run would have traced 16 losses.
    expect(first.trace).toHaveLength(8);
    expect(resumed.trace).toHaveLength(8);
    expect([...first.trace, ...resumed.trace]).toEqual(straight.trace);
    expect(resumed.weights).toEqual(straight.weights);
    expect(resumed.epoch).toBe(4);
    expect(resumed.globalStep).toBe(16);
    // The resumed callback kept writing to the same last.ckpt (its state was restored).
    expect(fs.readdirSync(path.join(root, "checkpoints")).filter((f) => f.startsWith("last"))).toEqual(["last.ckpt"]);
  });

  it('ckptPath "last" finds last.ckpt in a logger\'s version folder; "best" uses bestModelPath or fails clearly', async () => {
    const root = tmpRoot();
    const logger = () => new CSVLogger(root, { name: "runs", version: 0 });
    const first = await run({ maxEpochs: 2, defaultRootDir: root, logger: logger(), callbacks: [new ModelCheckpoint({ saveLast: true })] });
    const dir = path.join(root, "runs", "version_0", "checkpoints");
    expect(fs.readdirSync(dir).sort()).toEqual(["epoch=1-step=8.ckpt", "last.ckpt"]);
    // "best" on the Trainer that saved it: the callback's bestModelPath.
    const best = first.trainer.checkpointCallback!.bestModelPath;
    expect(best).toBe(path.join(dir, "epoch=1-step=8.ckpt"));
    await first.trainer.fit(new Resumable(), { ckptPath: "best" }); // already at maxEpochs: restores, trains nothing
    expect(first.trainer.ckptPath).toBe(best);
    expect(first.trainer.globalStep).toBe(8);

    const resumed = await run({ maxEpochs: 3, defaultRootDir: root, logger: logger(), callbacks: [new ModelCheckpoint({ saveLast: true })] }, { ckptPath: "last" }, 99);
    expect(resumed.trainer.ckptPath).toBe(path.join(dir, "last.ckpt"));
    expect(resumed.trace).toHaveLength(4);
    expect(resumed.globalStep).toBe(12);
    // "best" on a new Trainer whose callback has saved nothing: Lightning's error, no silent fresh start.
    await expect(run({ maxEpochs: 3, defaultRootDir: root, callbacks: [new ModelCheckpoint()] }, { ckptPath: "best" })).rejects.toThrow(
      '`.fit(ckptPath="best")` is set but `ModelCheckpoint` is not configured to save the best model.',
    );
    await expect(run({ maxEpochs: 3, enableCheckpointing: false }, { ckptPath: "best" })).rejects.toThrow(
      '`.fit(ckptPath="best")` is set but `ModelCheckpoint` is not configured.',
    );
  });

  it("saveCheckpoint(path, weightsOnly) cannot resume optimizers; a fit can still start from its weights", async () => {
    const file = path.join(tmpRoot(), "w.ckpt");
    const r = await run({ maxEpochs: 1, enableCheckpointing: false });
    await r.trainer.saveCheckpoint(file, true);
    const ckpt = await load<CheckpointDict>(file);
    expect(ckpt.optimizerStates).toBeUndefined();
    await expect(run({ maxEpochs: 2, enableCheckpointing: false }, { ckptPath: file })).rejects.toThrow(
      "Trying to restore optimizer state but checkpoint contains only the model",
    );
    // validate() loads weights only.
    manualSeed(0);
    const fresh = new Resumable();
    await new Trainer(baseOptions({ logger: false, enableCheckpointing: false })).validate(fresh, { ckptPath: file, verbose: false });
    expect(snapshot(fresh.parameters())).toEqual(r.weights);
    await expect(new Trainer(baseOptions()).saveCheckpoint(file)).rejects.toThrow("Saving a checkpoint is only possible if a model is attached to the Trainer");
  });

  it("onSaveCheckpoint / onLoadCheckpoint and callback state round-trip", async () => {
    class Stateful extends Callback {
      count = 0;
      loaded: unknown = null;
      override onTrainBatchEnd(): void {
        this.count++;
      }
      override stateDict() {
        return { count: this.count };
      }
      override loadStateDict(s: Record<string, unknown>): void {
        this.loaded = s.count;
      }
    }
    class Hooks extends Resumable {
      seen: unknown = null;
      override onSaveCheckpoint(c: CheckpointDict): void {
        c.myEntry = { answer: 42 };
      }
      override onLoadCheckpoint(c: CheckpointDict): void {
        this.seen = c.myEntry;
      }
    }
    const file = path.join(tmpRoot(), "s.ckpt");
    const cb = new Stateful();
    manualSeed(0);
    const t = new Trainer(baseOptions({ maxEpochs: 1, logger: false, enableCheckpointing: false, callbacks: [cb] }));
    await t.fit(new Hooks());
    await t.saveCheckpoint(file);
    const cb2 = new Stateful();
    const m2 = new Hooks();
    await new Trainer(baseOptions({ maxEpochs: 2, logger: false, enableCheckpointing: false, callbacks: [cb2] })).fit(m2, { ckptPath: file });
    expect(cb2.loaded).toBe(4);
    expect(m2.seen).toEqual({ answer: 42 });
  });

  it("a kill while a checkpoint is written leaves the previous checkpoint readable", async () => {
    const dir = tmpRoot();
    const target = path.join(dir, "model.ckpt");
    const child = spawn(process.execPath, [...sourceConditionFlags(), "--import", "tsx", path.join(__dirname, "crash_child.ts"), target], {
      cwd: path.join(__dirname, "..", "..", ".."),
      stdio: ["ignore", "pipe", "pipe"],
      env: { ...process.env, LIGHTNING_TS_LOG_LEVEL: "warning" },
    });
    let out = "";
    let err = "";
    child.stderr.on("data", (d) => (err += String(d)));
    await new Promise<void>((resolve, reject) => {
      child.stdout.on("data", (d) => {
        out += String(d);
        if (out.includes("slow-writing")) {
          child.kill("SIGKILL");
          resolve();
        }
      });
      child.on("exit", () => (out.includes("slow-writing") ? resolve() : reject(new Error(`child exited early:\n${out}\n${err}`))));
    });
    const ckpt = await load<CheckpointDict>(target);
    expect(ckpt.epoch).toBe(0); // the first checkpoint, intact
    expect(ckpt.globalStep).toBe(4);
    expect(fs.readdirSync(dir).some((f) => f.startsWith(".model.ckpt.tmp-"))).toBe(true); // the interrupted write
  }, 60_000);
});

