/** configureOptimizers' return shapes, scheduler intervals/frequency/monitor, and manual optimisation (GAN). */
import { describe, it, expect, beforeAll, vi } from "vitest";
import { Trainer, Callback, LightningModule, LightningOptimizer } from "lightning-ts";
import { usePureJsCpu, baseOptions, Classifier, EvalClassifier, manualSeed, withLossTrace, snapshot, tf, nn, F, optim, data } from "./helpers";
import { Generator } from "lightning-ts/torch";

const quiet = { logger: false, enableCheckpointing: false } as const;

/** A classifier whose `configureOptimizers` returns whatever `conf(this)` builds. */
function withConf(conf: (m: LightningModule) => unknown, Base: typeof Classifier = EvalClassifier) {
  manualSeed(0);
  return new (class extends Base {
    override configureOptimizers() {
      return conf(this) as ReturnType<Classifier["configureOptimizers"]>;
    }
  })({ optimizer: "sgd" });
}

/** The lr of the first optimizer seen at the start of each training batch. */
class LrLog extends Callback {
  lrs: number[] = [];
  override onTrainBatchStart(t: Trainer): void {
    this.lrs.push(t.optimizers[0]?.paramGroups[0].lr ?? NaN);
  }
}

async function fit(model: LightningModule, opts: Record<string, unknown> = {}) {
  const log = new LrLog();
  const trainer = new Trainer(baseOptions({ ...quiet, maxEpochs: 3, numSanityValSteps: 0, ...opts, callbacks: [log] }));
  await trainer.fit(model);
  return { trainer, lrs: log.lrs };
}

const perEpoch = (lrs: number[]) => lrs.filter((_, i) => i % 4 === 0);

describe("configureOptimizers", () => {
  beforeAll(usePureJsCpu);

  it("accepts an optimizer, a list, [[optimizers], [schedulers]], { optimizer, lrScheduler } and its config form", async () => {
    const sgd = (m: LightningModule) => new optim.SGD(m.parameters(), { lr: 0.1 });
    const step = (o: optim.Optimizer) => new optim.lrScheduler.StepLR(o, { stepSize: 1, gamma: 0.5 });
    expect((await fit(withConf(sgd))).lrs.every((lr) => lr === 0.1)).toBe(true);
    expect((await fit(withConf((m) => [sgd(m)]))).trainer.optimizers).toHaveLength(1);
    const tuple = await fit(withConf((m) => { const o = sgd(m); return [[o], [step(o)]]; }));
    expect(perEpoch(tuple.lrs)).toEqual([0.1, 0.05, 0.025]);
    expect(tuple.trainer.lrSchedulerConfigs[0]).toMatchObject({ interval: "epoch", frequency: 1, reduceOnPlateau: false, monitor: null, strict: true });
    const dict = await fit(withConf((m) => { const o = sgd(m); return { optimizer: o, lrScheduler: step(o) }; }));
    expect(perEpoch(dict.lrs)).toEqual([0.1, 0.05, 0.025]);
    const perStep = await fit(withConf((m) => { const o = sgd(m); return { optimizer: o, lrScheduler: { scheduler: step(o), interval: "step" } }; }), { maxEpochs: 1 });
    expect(perStep.lrs).toEqual([0.1, 0.05, 0.025, 0.0125]);
    const every2 = await fit(withConf((m) => { const o = sgd(m); return { optimizer: o, lrScheduler: { scheduler: step(o), frequency: 2 } }; }), { maxEpochs: 5 });
    expect(perEpoch(every2.lrs)).toEqual([0.1, 0.1, 0.05, 0.05, 0.025]);
    const everyOther = await fit(withConf((m) => { const o = sgd(m); return { optimizer: o, lrScheduler: { scheduler: step(o), interval: "step", frequency: 2 } }; }), { maxEpochs: 1 });
    expect(everyOther.lrs).toEqual([0.1, 0.1, 0.05, 0.05]);
  });

  it("ReduceLROnPlateau steps on the monitored metric after validation", async () => {
    const plateau = (m: LightningModule) => {
      const o = new optim.SGD(m.parameters(), { lr: 0.1 });
      return { optimizer: o, lrScheduler: { scheduler: new optim.lrScheduler.ReduceLROnPlateau(o, { patience: 0, factor: 0.5, mode: "max" }), monitor: "val_loss" } };
    };
    // mode "max" on a loss that goes down: every epoch is "worse" → the lr halves after each epoch but the first.
    const { lrs, trainer } = await fit(withConf(plateau), { maxEpochs: 4 });
    expect(perEpoch(lrs)).toEqual([0.1, 0.1, 0.05, 0.025]);
    expect(trainer.lrSchedulerConfigs[0].reduceOnPlateau).toBe(true);
    // The top-level `monitor` form.
    const top = (m: LightningModule) => {
      const o = new optim.SGD(m.parameters(), { lr: 0.1 });
      return { optimizer: o, lrScheduler: new optim.lrScheduler.ReduceLROnPlateau(o, { patience: 0, factor: 0.5, mode: "max" }), monitor: "val_loss" };
    };
    expect(perEpoch((await fit(withConf(top), { maxEpochs: 3 })).lrs)).toEqual([0.1, 0.1, 0.05]);
  });

  it("ReduceLROnPlateau errors: no monitor; monitored metric missing (strict) or skipped (strict: false)", async () => {
    const noMonitor = (m: LightningModule) => {
      const o = new optim.SGD(m.parameters(), { lr: 0.1 });
      return { optimizer: o, lrScheduler: new optim.lrScheduler.ReduceLROnPlateau(o) };
    };
    await expect(fit(withConf(noMonitor))).rejects.toThrow("`configureOptimizers` must include a monitor when a `ReduceLROnPlateau` scheduler is used");
    const missing = (strict: boolean) => (m: LightningModule) => {
      const o = new optim.SGD(m.parameters(), { lr: 0.1 });
      return { optimizer: o, lrScheduler: { scheduler: new optim.lrScheduler.ReduceLROnPlateau(o), monitor: "nope", strict } };
    };
    await expect(fit(withConf(missing(true)))).rejects.toThrow("ReduceLROnPlateau conditioned on metric nope which is not available. Available metrics are: ['train_loss', 'val_loss', 'val_acc']");
    const warn = vi.spyOn(console, "warn").mockImplementation(() => {});
    await fit(withConf(missing(false)));
    expect(warn.mock.calls.flat().join("\n")).toContain("which is not available but strict is set to `false`. Skipping learning rate update.");
    warn.mockRestore();
  });

  it("refuses unknown shapes, foreign schedulers and bad intervals; runs without an optimizer when none is returned", async () => {
    await expect(fit(withConf(() => 42))).rejects.toThrow("Unknown configuration for model optimizers");
    await expect(
      fit(withConf((m) => {
        const o = new optim.SGD(m.parameters(), { lr: 0.1 });
        const other = new optim.SGD([tf.variable(tf.zeros([1]))], { lr: 0.1 });
        return [[o], [new optim.lrScheduler.StepLR(other, { stepSize: 1 })]];
      })),
    ).rejects.toThrow("Some schedulers are attached with an optimizer that wasn't returned from `configureOptimizers`.");
    await expect(
      fit(withConf((m) => { const o = new optim.SGD(m.parameters(), { lr: 0.1 }); return { optimizer: o, lrScheduler: { scheduler: new optim.lrScheduler.StepLR(o, { stepSize: 1 }), interval: "batch" } }; })),
    ).rejects.toThrow('The "interval" key in lr scheduler dict must be "step" or "epoch" but is "batch"');
    const warn = vi.spyOn(console, "warn").mockImplementation(() => {});
    const model = withConf(() => undefined);
    const before = snapshot(model.parameters());
    const { trainer } = await fit(model, { maxEpochs: 1 });
    expect(warn.mock.calls.flat().join("\n")).toContain("returned `undefined`, this fit will run with no optimizer");
    warn.mockRestore();
    expect(snapshot(model.parameters())).toEqual(before);
    expect(trainer.globalStep).toBe(0);
  });

  it("overriding optimizerStep (lr warm-up) works with Lightning's signature", async () => {
    class Warmup extends EvalClassifier {
      override optimizerStep(_epoch: number, _batchIdx: number, optimizer: LightningOptimizer, closure?: () => unknown) {
        // Not awaited on purpose: the Trainer waits for the step itself.
        optimizer.step(closure);
        if (this.trainer.globalStep < 3) for (const g of optimizer.paramGroups) g.lr = 0.01 * (this.trainer.globalStep + 1);
      }
    }
    const { lrs, trainer } = await fit(new Warmup({ optimizer: "sgd" }), { maxEpochs: 1 });
    expect(lrs).toEqual([0.01, 0.01, 0.02, 0.03]);
    expect(trainer.globalStep).toBe(4);
    class Forgets extends EvalClassifier {
      override optimizerStep(): void {}
    }
    await expect(fit(new Forgets(), { maxEpochs: 1 })).rejects.toThrow("The closure hasn't been executed.");
  });
});

// --- Manual optimisation: a GAN on a ring of Gaussians (as fixtures/gan) ---------------------

const LATENT = 4;

class GeneratorNet extends nn.Module {
  main = new nn.Sequential(new nn.Linear(LATENT, 16), new nn.ReLU(), new nn.Linear(16, 2));
  override forward(z: tf.Tensor): tf.Tensor {
    return this.main.forward(z) as tf.Tensor;
  }
}
class Discriminator extends nn.Module {
  main = new nn.Sequential(new nn.Linear(2, 16), new nn.ReLU(), new nn.Linear(16, 1));
  override forward(x: tf.Tensor): tf.Tensor {
    return this.main.forward(x) as tf.Tensor;
  }
}

function ring(n: number): data.TensorDataset {
  const angle = tf.randomUniform([n], 0, 2 * Math.PI, "float32", 3);
  return new data.TensorDataset(tf.stack([tf.cos(angle), tf.sin(angle)], 1).mul(2));
}

function plainGan(seed: number, epochs: number): number[][] {
  manualSeed(seed);
  const netG = new GeneratorNet();
  const netD = new Discriminator();
  const optG = new optim.Adam(netG.parameters(), { lr: 1e-3, betas: [0.5, 0.999] });
  const optD = new optim.Adam(netD.parameters(), { lr: 1e-3, betas: [0.5, 0.999] });
  const noise = new Generator(0);
  const loader = new data.DataLoader(ring(64), { batchSize: 16, shuffle: true });
  for (let e = 0; e < epochs; e++) {
    for (const [real] of loader) {
      const b = (real as tf.Tensor).shape[0];
      const fake = netG.forward(tf.randomNormal([b, LATENT], 0, 1, "float32", noise.nextUint32()));
      optD.zeroGrad();
      const lossD = F.binaryCrossEntropyWithLogits(netD.forward(real as tf.Tensor), tf.ones([b, 1])).add(
        F.binaryCrossEntropyWithLogits(netD.forward(fake.detach()), tf.zeros([b, 1])),
      );
      lossD.backward();
      optD.step();
      optG.zeroGrad();
      const lossG = F.binaryCrossEntropyWithLogits(netD.forward(fake), tf.ones([b, 1]));
      lossG.backward();
      optG.step();
    }
  }
  return [...snapshot(netG.parameters()), ...snapshot(netD.parameters())];
}

class Gan extends LightningModule {
  netG = new GeneratorNet();
  netD = new Discriminator();
  private readonly noise = new Generator(0);
  override automaticOptimization = false;
  toggled: boolean[] = [];

  override trainingStep([real]: [tf.Tensor]): void {
    const [optG, optD] = this.optimizers();
    const b = real.shape[0];
    const fake = this.netG.forward(tf.randomNormal([b, LATENT], 0, 1, "float32", this.noise.nextUint32()));
    this.toggleOptimizer(optD);
    this.toggled.push(this.netG.parameters().every((p) => !p.trainable) && this.netD.parameters().every((p) => p.trainable));
    optD.zeroGrad();
    const lossD = F.binaryCrossEntropyWithLogits(this.netD.forward(real), tf.ones([b, 1])).add(
      F.binaryCrossEntropyWithLogits(this.netD.forward(fake.detach()), tf.zeros([b, 1])),
    );
    this.manualBackward(lossD);
    optD.step();
    this.untoggleOptimizer(optD);
    optG.zeroGrad();
    const lossG = F.binaryCrossEntropyWithLogits(this.netD.forward(fake), tf.ones([b, 1]));
    this.manualBackward(lossG);
    optG.step();
    this.log("loss_d", lossD, { progBar: true });
    this.log("loss_g", lossG, { progBar: true });
  }

  override configureOptimizers() {
    const optG = new optim.Adam(this.netG.parameters(), { lr: 1e-3, betas: [0.5, 0.999] });
    const optD = new optim.Adam(this.netD.parameters(), { lr: 1e-3, betas: [0.5, 0.999] });
    return [
      { optimizer: optG, lrScheduler: new optim.lrScheduler.StepLR(optG, { stepSize: 100 }) },
      { optimizer: optD, lrScheduler: new optim.lrScheduler.StepLR(optD, { stepSize: 100 }) },
    ];
  }

  override trainDataloader() {
    return new data.DataLoader(ring(64), { batchSize: 16, shuffle: true });
  }
}

describe("manual optimization", () => {
  beforeAll(usePureJsCpu);

  it("a GAN with two optimizers matches the plain two-optimizer loop (trace and weights); each step is a global step", async () => {
    let plainWeights: number[][] = [];
    const plain = await withLossTrace(() => {
      plainWeights = plainGan(2, 2);
    });
    let model!: Gan;
    let trainer!: Trainer;
    const traced = await withLossTrace(async () => {
      manualSeed(2);
      model = new Gan();
      trainer = new Trainer(baseOptions({ ...quiet, maxEpochs: 2 }));
      await trainer.fit(model);
    });
    expect(plain).toHaveLength(16);
    expect(traced).toEqual(plain);
    expect([...snapshot(model.netG.parameters()), ...snapshot(model.netD.parameters())]).toEqual(plainWeights);
    expect(trainer.globalStep).toBe(16); // 2 optimizer steps per batch
    expect(model.toggled.every(Boolean)).toBe(true);
    expect(model.netG.parameters().every((p) => p.trainable)).toBe(true); // untoggled
    expect(Object.keys(trainer.progressBarMetrics).sort()).toEqual(["loss_d", "loss_g"]);
    const scheds = model.lrSchedulers()!;
    expect(scheds).toHaveLength(2);
    // Manual optimisation: the schedulers are the user's to step.
    expect(scheds[0].lastEpoch).toBe(0);
  });

  it("clipGradients in manual optimization clips the optimizer's gradients", async () => {
    const maxAbs: number[] = [];
    class ManualClip extends Classifier {
      override automaticOptimization = false;
      override trainingStep([x, y]: [tf.Tensor, tf.Tensor]) {
        const opt = this.optimizers();
        opt.zeroGrad();
        const loss = F.crossEntropy(this.forward(x), y);
        this.manualBackward(loss);
        this.clipGradients(opt, { gradientClipVal: 0.001, gradientClipAlgorithm: "value" });
        maxAbs.push(Math.max(...this.parameters().flatMap((p) => Array.from(p.grad!.dataSync()).map(Math.abs))));
        opt.step();
      }
    }
    manualSeed(0);
    await new Trainer(baseOptions({ ...quiet, maxEpochs: 1 })).fit(new ManualClip());
    expect(maxAbs).toHaveLength(4);
    expect(maxAbs.every((v) => v <= Math.fround(0.001))).toBe(true);
  });

  it("manualBackward and optimizers() are for manual optimization only", async () => {
    class Wrong extends Classifier {
      override trainingStep(batch: [tf.Tensor, tf.Tensor]): tf.Tensor {
        const loss = super.trainingStep(batch);
        this.manualBackward(loss);
        return loss;
      }
    }
    await expect(new Trainer(baseOptions({ ...quiet, maxEpochs: 1 })).fit(new Wrong())).rejects.toThrow(
      "to use manualBackward, please disable automatic optimization: set model property `automaticOptimization = false`",
    );
    const single = new Classifier();
    await new Trainer(baseOptions({ ...quiet, maxEpochs: 1, limitTrainBatches: 1 })).fit(single);
    expect(single.optimizers()).toBeInstanceOf(LightningOptimizer);
    expect(single.lrSchedulers()).toBeNull();
  });
});
