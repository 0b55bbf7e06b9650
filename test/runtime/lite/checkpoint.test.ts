import { describe, it, expect, beforeAll, afterAll } from "vitest";
import { mkdtempSync, readdirSync, readFileSync, existsSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { tf, optim, F, manualSeed } from "lightning-ts/torch";
import { usePureJsCpu, Net, TestLite, RankOneStrategy, batch, labels, snapshot } from "../helpers";

const dir = mkdtempSync(join(tmpdir(), "lite-ckpt-"));

/** A model and an Adam optimizer after two steps (so the optimizer has state). */
function trained(lite: TestLite, seed: number) {
  manualSeed(seed);
  let model = new Net();
  let optimizer = new optim.Adam(model.parameters(), { lr: 1e-2 });
  [model, optimizer] = lite.setup(model, optimizer);
  for (let i = 0; i < 2; i++) {
    optimizer.zeroGrad();
    lite.backward(F.crossEntropy(model.forward(batch(4, 6, i)), labels(4, 3, i)));
    optimizer.step();
  }
  return { model, optimizer };
}

describe("LightningLite.save / load", () => {
  beforeAll(usePureJsCpu);
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("round-trips models and optimizers (as state dicts) and plain values", async () => {
    const lite = new TestLite();
    const { model, optimizer } = trained(lite, 1);
    const file = join(dir, "a.ckpt");
    await lite.save({ model, optimizer, epoch: 3, note: "x" }, file);
    const ckpt = await lite.load(file);
    expect(Object.keys(ckpt)).toEqual(["model", "optimizer", "epoch", "note"]);
    expect(ckpt.epoch).toBe(3);
    expect(Object.keys(ckpt.model)).toEqual(["fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias"]);
    expect(Array.from((ckpt.model["fc2.bias"] as tf.Tensor).dataSync())).toEqual(Array.from(model.fc2.bias!.dataSync()));
    expect(ckpt.optimizer.paramGroups[0].lr).toBe(1e-2);
    expect(Object.keys(ckpt.optimizer.state)).toHaveLength(4);
  });

  it("restores into a state object in place and returns what it did not consume", async () => {
    const lite = new TestLite();
    const saved = trained(lite, 2);
    const file = join(dir, "b.ckpt");
    await lite.save({ model: saved.model, optimizer: saved.optimizer, epoch: 7, step: 14 }, file);

    // A fresh model (other init) and optimizer take the saved state...
    const other = trained(new TestLite(), 99);
    expect(snapshot(other.model.parameters())).not.toEqual(snapshot(saved.model.parameters()));
    const state: Record<string, unknown> = { model: other.model, optimizer: other.optimizer, epoch: 0 };
    const rest = await lite.load(file, state);
    expect(rest).toEqual({ step: 14 });
    expect(state.epoch).toBe(7);
    expect(snapshot(other.model.parameters())).toEqual(snapshot(saved.model.parameters()));
    // ...so one more identical step keeps them identical (the Adam moments came back too).
    for (const { model, optimizer } of [saved, other]) {
      optimizer.zeroGrad();
      lite.backward(F.crossEntropy(model.forward(batch(4, 6, 5)), labels(4, 3, 5)));
      optimizer.step();
    }
    expect(snapshot(other.model.parameters())).toEqual(snapshot(saved.model.parameters()));
    await expect(lite.load(file, { missing: 1 })).rejects.toThrow("load(): 'missing' is not in the checkpoint");
  });

  it("writes atomically: no temporary files left, and a failed save keeps the previous file", async () => {
    const lite = new TestLite();
    const sub = mkdtempSync(join(dir, "atomic-"));
    const file = join(sub, "c.ckpt");
    await lite.save({ v: tf.tensor1d([1, 2, 3]) }, file);
    await lite.save({ v: tf.tensor1d([4, 5, 6]) }, file);
    expect(readdirSync(sub)).toEqual(["c.ckpt"]);
    const before = readFileSync(file);
    await expect(lite.save({ v: tf.tensor1d([7]), bad: () => 1 }, file)).rejects.toThrow(/cannot save a function/);
    expect(readFileSync(file).equals(before)).toBe(true);
    expect(readdirSync(sub)).toEqual(["c.ckpt"]);
    const back = await lite.load(file);
    expect(Array.from((back.v as tf.Tensor).dataSync())).toEqual([4, 5, 6]);
  });

  it("only global rank 0 writes", async () => {
    const lite = new TestLite({ strategy: new RankOneStrategy("cpu") });
    const file = join(dir, "rank1.ckpt");
    await lite.save({ x: 1 }, file);
    expect(existsSync(file)).toBe(false);
    lite.saveSync({ x: 1 }, file);
    expect(existsSync(file)).toBe(false);
  });

  it("saveSync / loadSync (for code that cannot await): the same file as save writes, the same restore as load", async () => {
    const lite = new TestLite();
    const saved = trained(lite, 4);
    const syncFile = join(dir, "sync.ckpt");
    const asyncFile = join(dir, "async.ckpt");
    lite.saveSync({ model: saved.model, optimizer: saved.optimizer, epoch: 2 }, syncFile);
    await lite.save({ model: saved.model, optimizer: saved.optimizer, epoch: 2 }, asyncFile);
    expect(readFileSync(syncFile).equals(readFileSync(asyncFile))).toBe(true);

    const other = trained(new TestLite(), 98);
    const state: Record<string, unknown> = { model: other.model, optimizer: other.optimizer };
    expect(lite.loadSync(syncFile, state)).toEqual({ epoch: 2 });
    expect(snapshot(other.model.parameters())).toEqual(snapshot(saved.model.parameters()));
    expect(() => lite.loadSync(syncFile, { missing: 1 })).toThrow("load(): 'missing' is not in the checkpoint");
  });
});
