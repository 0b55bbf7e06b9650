/** accumulateGradBatches and gradient clipping, against Lightning's semantics and the torch-layer maths. */
import { describe, it, expect, beforeAll } from "vitest";
import { Trainer, Callback, type LightningModule } from "lightning-ts";
import { usePureJsCpu, baseOptions, Classifier, EvalClassifier, Mlp, dataset, manualSeed, withLossTrace, snapshot, tf, F, nn, optim, data } from "./helpers";

/** Records, per optimizer step, the gradients as they are right before the update. */
class GradProbe extends Callback {
  steps: Array<{ batch: number; grads: number[][] }> = [];
  batch = -1;
  zeroGrads: number[] = [];
  override onTrainBatchStart(_t: Trainer, _m: LightningModule, _b: unknown, i: number): void {
    this.batch = i;
  }
  override onBeforeZeroGrad(): void {
    this.zeroGrads.push(this.batch);
  }
  override onBeforeOptimizerStep(_t: Trainer, module: LightningModule): void {
    this.steps.push({ batch: this.batch, grads: module.parameters().map((p) => Array.from(p.grad!.dataSync())) });
  }
}

/** No dropout, plain SGD: gradients are a pure function of the weights and the batch. */
class Linear extends Classifier {
  constructor(args: ConstructorParameters<typeof Classifier>[0] = {}) {
    super({ optimizer: "sgd", shuffle: false, ...args });
    (this.model.drop as unknown as { p: number }).p = 0;
  }
  override configureOptimizers() {
    return new optim.SGD(this.parameters(), { lr: 0.1 });
  }
}

function maxAbsDiff(a: number[][], b: number[][]): number {
  let m = 0;
  a.forEach((row, i) => row.forEach((v, j) => (m = Math.max(m, Math.abs(v - b[i][j])))));
  return m;
}

describe("accumulateGradBatches", () => {
  beforeAll(usePureJsCpu);

  it("steps every N batches and on the epoch's last batch (leftover window); zeroes at each window start", async () => {
    // 80 samples / 16 = 5 batches; N = 2 → steps after batches 1, 3 and the leftover 4.
    const probe = new GradProbe();
    manualSeed(0);
    const trainer = new Trainer(baseOptions({ maxEpochs: 2, accumulateGradBatches: 2, logger: false, enableCheckpointing: false, callbacks: [probe] }));
    await trainer.fit(new Linear({ n: 80 }));
    expect(probe.steps.map((s) => s.batch)).toEqual([1, 3, 4, 1, 3, 4]);
    expect(probe.zeroGrads).toEqual([0, 2, 4, 0, 2, 4]);
    expect(trainer.globalStep).toBe(6);
  });

  it("an accumulated step equals one step on the big batch (loss divided by N)", async () => {
    // Accumulating 4 batches of 8 = one batch of 32 (same samples, equal-size micro-batches).
    const probe = new GradProbe();
    manualSeed(3);
    const acc = new Linear({ n: 32, batchSize: 8 });
    const init = snapshot(acc.parameters());
    await new Trainer(baseOptions({ maxEpochs: 1, accumulateGradBatches: 4, logger: false, enableCheckpointing: false, callbacks: [probe] })).fit(acc);
    expect(probe.steps).toHaveLength(1);

    const big = new Mlp();
    (big.drop as unknown as { p: number }).p = 0;
    big.parameters().forEach((p, i) => p.assign(tf.tensor(init[i], p.shape)));
    const [x, y] = new data.DataLoader(dataset(32), { batchSize: 32 })[Symbol.iterator]().next().value as tf.Tensor[];
    F.crossEntropy(big.forward(x), y).backward();
    const bigGrads = big.parameters().map((p) => Array.from(p.grad!.dataSync()));
    expect(maxAbsDiff(probe.steps[0].grads, bigGrads)).toBeLessThan(1e-6);
    // And the update is the same.
    new optim.SGD(big.parameters(), { lr: 0.1 }).step();
    expect(maxAbsDiff(snapshot(acc.parameters()), snapshot(big.parameters()))).toBeLessThan(1e-6);
  });

  it("the loss trace shows the undivided losses", async () => {
    const stepLosses: number[] = [];
    class Rec extends Linear {
      override trainingStep(batch: [tf.Tensor, tf.Tensor]): tf.Tensor {
        const loss = super.trainingStep(batch);
        stepLosses.push(loss.item());
        return loss;
      }
    }
    const trace = await withLossTrace(async () => {
      manualSeed(0);
      await new Trainer(baseOptions({ maxEpochs: 1, accumulateGradBatches: 3, logger: false, enableCheckpointing: false })).fit(new Rec());
    });
    expect(trace).toEqual(stepLosses);
    expect(trace).toHaveLength(4);
  });

  it("onTrainBatchEnd's outputs carry the divided loss; step metrics are logged only on optimizer steps", async () => {
    const seen: number[] = [];
    class Out extends Callback {
      override onTrainBatchEnd(_t: Trainer, _m: LightningModule, outputs: { loss?: tf.Tensor }): void {
        seen.push(outputs.loss!.item());
      }
    }
    const traced = await withLossTrace(async () => {
      manualSeed(0);
      await new Trainer(baseOptions({ maxEpochs: 1, accumulateGradBatches: 2, logger: false, enableCheckpointing: false, callbacks: [new Out()] })).fit(new Linear());
    });
    seen.forEach((v, i) => expect(v).toBeCloseTo(traced[i] / 2, 6));
  });

  it("manual optimization refuses accumulateGradBatches and gradientClipVal", async () => {
    class Manual extends Linear {
      override automaticOptimization = false;
    }
    await expect(new Trainer(baseOptions({ maxEpochs: 1, accumulateGradBatches: 2 })).fit(new Manual())).rejects.toThrow(
      "Automatic gradient accumulation is not supported for manual optimization",
    );
    await expect(new Trainer(baseOptions({ maxEpochs: 1, gradientClipVal: 1 })).fit(new Manual())).rejects.toThrow(
      "Automatic gradient clipping is not supported for manual optimization",
    );
  });
});

describe("gradient clipping", () => {
  beforeAll(usePureJsCpu);

  /** Gradients right before the update, and what clipGradNorm/clipGradValue make of the unclipped ones. */
  async function clippedRun(opts: { gradientClipVal: number; gradientClipAlgorithm?: "norm" | "value" }) {
    const raw: number[][][] = [];
    const clipped: number[][][] = [];
    class Probe extends Callback {
      override onBeforeOptimizerStep(_t: Trainer, m: LightningModule): void {
        raw.push(m.parameters().map((p) => Array.from(p.grad!.dataSync())));
      }
      override onTrainBatchEnd(_t: Trainer, m: LightningModule): void {
        // After the step the grads are the clipped ones (the optimizer does not clear them).
        clipped.push(m.parameters().map((p) => Array.from(p.grad!.dataSync())));
      }
    }
    manualSeed(0);
    await new Trainer(baseOptions({ maxEpochs: 1, ...opts, logger: false, enableCheckpointing: false, callbacks: [new Probe()] })).fit(new Linear({ n: 32 }));
    return { raw, clipped };
  }

  it('"norm" (default) rescales the total 2-norm to gradientClipVal, like clip_grad_norm_', async () => {
    const { raw, clipped } = await clippedRun({ gradientClipVal: 0.05 });
    expect(raw.length).toBe(2);
    raw.forEach((grads, s) => {
      const params = grads.map((g) => tf.variable(tf.tensor1d(g)));
      params.forEach((p, i) => (p.grad = tf.tensor1d(grads[i])));
      const total = nn.utils.clipGradNorm(params, 0.05);
      expect(total).toBeGreaterThan(0.05);
      const expected = params.map((p) => Array.from(p.grad!.dataSync()));
      expect(clipped[s]).toEqual(expected);
      const norm = Math.sqrt(clipped[s].flat().reduce((a, v) => a + v * v, 0));
      expect(norm).toBeCloseTo(0.05, 5);
    });
  });

  it('"value" clamps every gradient element to ±gradientClipVal', async () => {
    const { raw, clipped } = await clippedRun({ gradientClipVal: 0.01, gradientClipAlgorithm: "value" });
    raw.forEach((grads, s) => {
      expect(clipped[s]).toEqual(grads.map((g) => g.map((v) => Math.fround(Math.min(0.01, Math.max(-0.01, v))))));
      expect(grads.flat().some((v) => Math.abs(v) > 0.01)).toBe(true);
    });
  });

  it("no clipping without gradientClipVal, and configureGradientClipping can be overridden", async () => {
    const { raw, clipped } = await clippedRun({ gradientClipVal: 0 });
    expect(clipped).toEqual(raw);
    const calls: Array<[number | null | undefined, string | null | undefined]> = [];
    class Custom extends EvalClassifier {
      override configureGradientClipping(opt: optim.Optimizer, val?: number | null, algo?: "norm" | "value" | null): void {
        calls.push([val, algo]);
        this.clipGradients(opt, { gradientClipVal: 0.5, gradientClipAlgorithm: "value" });
      }
    }
    manualSeed(0);
    await new Trainer(baseOptions({ maxEpochs: 1, gradientClipVal: 2, limitTrainBatches: 2, logger: false, enableCheckpointing: false })).fit(new Custom());
    expect(calls).toEqual([[2, null], [2, null]]);
  });
});
