/**
 * SPEC §6: a plain loop (SPEC §2 style) and the same model as a LightningModule on the Trainer
 * (defaults on: sanity check, validation, loggers, checkpointing — only the progress bar off)
 * write identical loss traces and end with identical weights.
 */
import { describe, it, expect, beforeAll } from "vitest";
import { collectGarbage } from "../../../src/torch/autograd/lifetime";
import * as fs from "node:fs";
import { LightningModule, Trainer } from "lightning-ts";
import { Generator } from "lightning-ts/torch";
import {
  usePureJsCpu, tmpRoot, Classifier, EvalClassifier, plainLoop, withLossTrace, manualSeed, snapshot, tf, nn, F, optim, data, dataset,
} from "./helpers";

describe("loss-trace equivalence with the plain loop", () => {
  beforeAll(usePureJsCpu);

  it("Trainer defaults (with validation, sanity check, loggers, checkpoint) give the plain loop's trace and weights", async () => {
    let plainWeights: number[][] = [];
    const plain = await withLossTrace(() => {
      plainWeights = plainLoop(7, 3).weights;
    });
    let model!: EvalClassifier;
    const root = tmpRoot();
    const traced = await withLossTrace(async () => {
      manualSeed(7);
      model = new EvalClassifier();
      await new Trainer({ maxEpochs: 3, enableProgressBar: false, defaultRootDir: root }).fit(model);
    });
    expect(plain).toHaveLength(12);
    expect(traced).toEqual(plain);
    expect(snapshot(model.parameters())).toEqual(plainWeights);
    // The defaults did run: logs and the checkpoint are on disk.
    const dir = `${root}/lightning_logs/version_0`;
    expect(fs.readdirSync(dir).sort()).toEqual(expect.arrayContaining(["checkpoints", "hparams.yaml", "metrics.csv"]));
    expect(fs.readdirSync(`${dir}/checkpoints`)).toEqual(["epoch=2-step=12.ckpt"]);
  });

  it("SGD with momentum and no shuffling: same trace", async () => {
    const args = { optimizer: "sgd" as const, shuffle: false, batchSize: 10 };
    const plain = await withLossTrace(() => plainLoop(11, 2, args));
    const traced = await withLossTrace(async () => {
      manualSeed(11);
      await new Trainer({ maxEpochs: 2, enableProgressBar: false, logger: false, enableCheckpointing: false }).fit(new Classifier(args));
    });
    expect(plain).toHaveLength(14);
    expect(traced).toEqual(plain);
  });

  it("the sanity check changes nothing in training: no random stream consumed, modes restored", async () => {
    // A validation step that draws random numbers (the ops stream): the sanity check is isolated.
    class Noisy extends EvalClassifier {
      override validationStep(batch: [tf.Tensor, tf.Tensor]): void {
        tf.randomNormal([4], 0, 1, "float32", (globalThis as { __s?: number }).__s);
        F.dropout(batch[0], { p: 0.5 });
        super.validationStep(batch);
      }
    }
    const run = async (numSanityValSteps: number) => {
      let model!: EvalClassifier;
      const trace = await withLossTrace(async () => {
        manualSeed(5);
        model = new Noisy();
        // Frozen-in-eval submodule: the sanity check must leave it in eval mode.
        model.model.drop.eval();
        await new Trainer({ maxEpochs: 1, numSanityValSteps, enableProgressBar: false, logger: false, enableCheckpointing: false, limitValBatches: 0.5 }).fit(model);
      });
      return { trace, dropTraining: model.model.drop.training, weights: snapshot(model.parameters()) };
    };
    const none = await run(0);
    const two = await run(2);
    const all = await run(-1);
    expect(two.trace).toEqual(none.trace);
    expect(all.trace).toEqual(none.trace);
    expect(two.weights).toEqual(none.weights);
    expect(two.dropTraining).toBe(false);
  });

  it("the sanity check puts back the script's own generators too (a dataset drawing from new Generator(3))", async () => {
    // Training and validation draw from one generator of the user's, as a dataset that samples
    // pairs in get() does: the sanity check's validation batches must not shift training's draws.
    class SharedDraws extends EvalClassifier {
      readonly gen = new Generator(3);
      override trainingStep(batch: [tf.Tensor, tf.Tensor], batchIdx: number): any {
        const loss = super.trainingStep(batch, batchIdx) as tf.Tensor;
        return loss.mul(1 + (this.gen.nextUint32() % 97) / 100);
      }
      override validationStep(batch: [tf.Tensor, tf.Tensor]): void {
        this.gen.nextUint32();
        super.validationStep(batch);
      }
    }
    const run = (numSanityValSteps: number) =>
      withLossTrace(async () => {
        manualSeed(5);
        await new Trainer({ maxEpochs: 1, numSanityValSteps, enableProgressBar: false, logger: false, enableCheckpointing: false }).fit(new SharedDraws());
      });
    const none = await run(0);
    expect(await run(2)).toEqual(none);
    // (the draws do reach the trace: another generator seed gives other losses)
    expect(none.length).toBeGreaterThan(1);
  });

  it("numSanityValSteps runs that many validation batches (per dataloader), -1 all of them", async () => {
    const seen: number[] = [];
    class Counting extends EvalClassifier {
      override validationStep(batch: [tf.Tensor, tf.Tensor], i: number): void {
        if (this.trainer.sanityChecking) seen.push(i);
        super.validationStep(batch);
      }
      override valDataloader() {
        return new data.DataLoader(dataset(40, 1), { batchSize: 8 });
      }
    }
    for (const [steps, expected] of [[2, 2], [0, 0], [-1, 5], [9, 5]] as const) {
      seen.length = 0;
      manualSeed(0);
      const t = new Trainer({ maxEpochs: 1, numSanityValSteps: steps, enableProgressBar: false, logger: false, enableCheckpointing: false, limitTrainBatches: 1 });
      await t.fit(new Counting());
      expect(seen).toHaveLength(expected);
      // Sanity-check metrics are discarded: only the real validation's are there.
      expect(t.callbackMetrics.val_loss).toBeDefined();
    }
  });

  it("keeps tensor memory flat across epochs (step scopes)", async () => {
    manualSeed(1);
    const model = new EvalClassifier();
    const counts: number[] = [];
    class Probe extends (await import("lightning-ts")).Callback {
      override onTrainEpochEnd(): void {
        // Issue 8: lifetimes follow references; the count is read after a collection.
        collectGarbage();
        counts.push(tf.memory().numTensors);
      }
    }
    await new Trainer({ maxEpochs: 5, enableProgressBar: false, logger: false, enableCheckpointing: false, callbacks: [new Probe()] }).fit(model);
    expect(counts).toHaveLength(5);
    expect(Math.max(...counts.slice(1)) - Math.min(...counts.slice(1))).toBeLessThanOrEqual(4);
  });
});

describe("LBFGS under the Trainer (full-batch training, as pytorch/examples time_sequence_prediction)", () => {
  beforeAll(usePureJsCpu);

  const fullBatch = () => {
    const g = new Generator(4);
    const x = tf.tensor2d(Array.from({ length: 24 }, () => g.uniform(-1, 1)), [8, 3]);
    const y = tf.tensor2d(Array.from({ length: 8 }, () => g.uniform(-1, 1)), [8, 1]);
    return { x, y };
  };

  for (const lineSearchFn of [null, "strong_wolfe"] as const) {
    it(`every closure evaluation is a training step with its backward: same trace and weights as optimizer.step(closure), lineSearchFn ${lineSearchFn}`, async () => {
      const { x, y } = fullBatch();
      let plainWeights: number[][] = [];
      const plain = await withLossTrace(() => {
        manualSeed(3);
        const model = new nn.Linear(3, 1);
        const optimizer = new optim.LBFGS(model.parameters(), { lr: 0.8, maxIter: 6, lineSearchFn });
        for (let epoch = 0; epoch < 3; epoch++) {
          optimizer.step(() => {
            optimizer.zeroGrad();
            const loss = F.mseLoss(model.forward(x), y);
            loss.backward();
            return loss;
          });
        }
        plainWeights = snapshot(model.parameters());
      });

      class FullBatch extends LightningModule {
        model = new nn.Linear(3, 1);
        override trainingStep(batch: [tf.Tensor, tf.Tensor]): tf.Tensor {
          const [xb, yb] = batch;
          return F.mseLoss(this.model.forward(xb), yb);
        }
        override configureOptimizers() {
          return new optim.LBFGS(this.model.parameters(), { lr: 0.8, maxIter: 6, lineSearchFn });
        }
        override trainDataloader() {
          return new data.DataLoader(new data.TensorDataset(x, y), { batchSize: x.shape[0] });
        }
      }
      let module!: FullBatch;
      const traced = await withLossTrace(async () => {
        manualSeed(3);
        module = new FullBatch();
        await new Trainer({ maxEpochs: 3, enableProgressBar: false, logger: false, enableCheckpointing: false }).fit(module);
      });
      // LBFGS evaluated the closure several times per step: the trace has them all.
      expect(plain.length).toBeGreaterThan(6);
      expect(traced).toEqual(plain);
      expect(snapshot(module.parameters())).toEqual(plainWeights);
    });
  }
});
