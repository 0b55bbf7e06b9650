/**
 * `16-mixed` / `bf16-mixed` through Lite and the Trainer: the rounding is real (the trace moves
 * off 32-true's, bf16 more than fp16, by well under a percent here), float16 overflows where a
 * GPU's would, the loss scale is undone before clipping and `onBeforeOptimizerStep`, a skipped
 * step leaves the weights alone, and the scaler's state lives in checkpoints.
 */
import { describe, it, expect, beforeAll } from "vitest";
import * as path from "node:path";
import { Trainer, LightningLite, MixedPrecision, Callback, type CheckpointDict, type LightningModule } from "lightning-ts";
import { tf, nn, F, optim, manualSeed, load, amp } from "lightning-ts/torch";
import { usePureJsCpu, Net, batch, labels } from "../../helpers";
import { baseOptions, Classifier, withLossTrace, snapshot } from "../../trainer/helpers";

class TestLite extends LightningLite {
  run(): void {}
}

function trainLite(precision: "32-true" | "16-mixed" | "bf16-mixed", steps = 12, norms?: number[]) {
  manualSeed(3);
  const lite = new TestLite({ accelerator: "cpu", precision });
  const net = new Net();
  const [model, opt] = lite.setup(net, new optim.Adam(net.parameters(), { lr: 0.05 }));
  const losses: number[] = [];
  for (let i = 0; i < steps; i++) {
    opt.zeroGrad();
    const loss = F.crossEntropy(model.forward(batch(16, 6)), labels(16, 3));
    lite.backward(loss);
    if (norms) norms.push(lite.clipGradients(model, opt, { maxNorm: 100 }));
    opt.step();
    losses.push(loss.item());
  }
  return { losses, lite, params: snapshot(net.parameters()) };
}

function maxRelDiff(a: number[], b: number[]): number {
  return Math.max(...a.map((x, i) => Math.abs(x - b[i]!) / Math.abs(b[i]!)));
}

describe("mixed precision in Lite", () => {
  beforeAll(usePureJsCpu);

  it("trains; the trace differs from 32-true's by the rounding (bf16 more than fp16), under a percent here", () => {
    const full = trainLite("32-true").losses;
    const fp16 = trainLite("16-mixed").losses;
    const bf16 = trainLite("bf16-mixed").losses;
    expect(fp16[11]!).toBeLessThan(fp16[0]! * 0.8);
    expect(bf16[11]!).toBeLessThan(bf16[0]! * 0.8);
    const dFp16 = maxRelDiff(fp16, full);
    const dBf16 = maxRelDiff(bf16, full);
    expect(dFp16).toBeGreaterThan(0);
    expect(dBf16).toBeGreaterThan(dFp16);
    expect(dBf16).toBeLessThan(1e-2);
  });

  it("clipping sees the true gradients: the norm is 32-true's, not 65536 times it", () => {
    const normsFull: number[] = [];
    const normsFp16: number[] = [];
    trainLite("32-true", 3, normsFull);
    const { lite } = trainLite("16-mixed", 3, normsFp16);
    for (let i = 0; i < 3; i++) expect(Math.abs(normsFp16[i]! - normsFull[i]!) / normsFull[i]!).toBeLessThan(1e-2);
    expect((lite.strategy.precision as MixedPrecision).scaler!.getScale()).toBe(65536);
  });

  it("float16 overflows past 65504 as on a GPU: the step is skipped, the weights kept, the scale backed off; bf16 does not overflow", () => {
    const big = (precision: "16-mixed" | "bf16-mixed" | "32-true") => {
      const lite = new TestLite({ accelerator: "cpu", precision });
      const lin = new nn.Linear(4, 1);
      lin.weight.assign(tf.fill([1, 4], 300));
      const [model, opt] = lite.setup(lin, new optim.SGD(lin.parameters(), { lr: 1e-3 }));
      const out = model.forward(tf.fill([2, 4], 100)); // 4 × 300 × 100 = 120,000 > 65504
      const before = snapshot(lin.parameters());
      lite.backward(out.mean());
      opt.step();
      return { out: Array.from(out.dataSync()), changed: JSON.stringify(snapshot(lin.parameters())) !== JSON.stringify(before), lite };
    };
    const fp16 = big("16-mixed");
    expect(fp16.out.every((v) => v === Infinity)).toBe(true);
    expect(fp16.changed).toBe(false);
    expect((fp16.lite.strategy.precision as MixedPrecision).scaler!.getScale()).toBe(32768);
    const bf16 = big("bf16-mixed");
    expect(bf16.out.every((v) => Number.isFinite(v) && Math.abs(v - 120000) / 120000 < 2 ** -8)).toBe(true);
    expect(bf16.changed).toBe(true);
    expect(big("32-true").out.every((v) => Math.abs(v - 120000) < 1)).toBe(true);
  });

  it("a BCE loss inside the autocast forward is refused with PyTorch's reason", () => {
    class Bce extends nn.Module {
      lin = new nn.Linear(6, 1);
      override forward(x: tf.Tensor): tf.Tensor {
        return F.binaryCrossEntropy(tf.sigmoid(this.lin.forward(x)).reshape([-1]), tf.zeros([x.shape[0]!]));
      }
    }
    const lite = new TestLite({ accelerator: "cpu", precision: "16-mixed" });
    const [model] = lite.setup(new Bce());
    expect(() => model.forward(batch(4, 6))).toThrow(/unsafe to autocast/);
  });

  it("GradScaler and autocast are there for Lite users who drive them themselves", () => {
    expect(new amp.GradScaler().getScale()).toBe(65536);
    const lite = new TestLite({ accelerator: "cpu", precision: "16-mixed" });
    const a = batch(3, 3);
    const inside = lite.autocast(() => tf.matMul(a, a));
    expect(Array.from(inside.dataSync())).toEqual(Array.from(amp.autocast({}, () => tf.matMul(a, a)).dataSync()));
    expect(Array.from(inside.dataSync())).not.toEqual(Array.from(tf.matMul(a, a).dataSync()));
  });
});

describe("mixed precision in the Trainer", () => {
  beforeAll(usePureJsCpu);

  async function fit(precision: string, extra: Record<string, unknown> = {}, fitOpts: { ckptPath?: string } = {}) {
    let model!: Classifier;
    let trainer!: Trainer;
    const trace = await withLossTrace(async () => {
      manualSeed(7);
      model = new Classifier({ shuffle: true });
      trainer = new Trainer(baseOptions({ accelerator: "cpu", precision: precision as never, logger: false, maxEpochs: 3, ...extra }));
      await trainer.fit(model, fitOpts);
    });
    return { trace, model, trainer };
  }

  it("16-mixed and bf16-mixed fit: same steps as 32-true, close but not equal losses", async () => {
    const full = await fit("32-true");
    for (const p of ["16-mixed", "bf16-mixed"]) {
      const run = await fit(p);
      expect(run.trace).toHaveLength(full.trace.length);
      expect(run.trace).not.toEqual(full.trace);
      expect(maxRelDiff(run.trace, full.trace)).toBeLessThan(2e-2);
      expect(run.trainer.precisionPlugin.name).toBe(p);
    }
  });

  it("onBeforeOptimizerStep and gradientClipVal see unscaled gradients", async () => {
    const seen: number[] = [];
    class Probe extends Callback {
      override onBeforeOptimizerStep(_t: Trainer, module: LightningModule): void {
        seen.push(Math.max(...module.parameters().map((p) => Math.max(...Array.from(p.grad!.dataSync()).map(Math.abs)))));
      }
    }
    await fit("16-mixed", { callbacks: [new Probe()], gradientClipVal: 0.5, maxEpochs: 1 });
    expect(seen.length).toBeGreaterThan(0);
    expect(Math.max(...seen)).toBeLessThan(10); // scaled, they would be ~65536 times larger
  });

  it("the scaler's state is in the checkpoint, and resuming continues with it exactly", async () => {
    const straight = await fit("16-mixed", { maxEpochs: 4 });
    const first = await fit("16-mixed", { maxEpochs: 2 });
    const file = first.trainer.checkpointCallback!.bestModelPath;
    const ckpt = await load<CheckpointDict>(file);
    expect(ckpt.precision).toEqual({
      name: "16-mixed",
      state: { scale: 65536, growth_factor: 2, backoff_factor: 0.5, growth_interval: 2000, _growth_tracker: 8 },
    });
    expect(path.extname(file)).toBe(".ckpt");
    const resumed = await fit("16-mixed", { maxEpochs: 4 }, { ckptPath: file });
    expect([...first.trace, ...resumed.trace]).toEqual(straight.trace);
    expect(snapshot(resumed.model.parameters())).toEqual(snapshot(straight.model.parameters()));
    expect((resumed.trainer.precisionPlugin as MixedPrecision).scaler!.stateDict()).toEqual((straight.trainer.precisionPlugin as MixedPrecision).scaler!.stateDict());
  });

  it("manual optimisation: manualBackward scales, optimizer.step() unscales, steps or skips through the plugin", async () => {
    const steps: Array<{ skipped: boolean; moved: number }> = [];
    class Manual extends Classifier {
      constructor() {
        super({ n: 64 });
        this.automaticOptimization = false;
      }
      override trainingStep(b: [tf.Tensor, tf.Tensor]): tf.Tensor {
        const opt = this.optimizers() as unknown as optim.Optimizer;
        opt.zeroGrad();
        const loss = F.crossEntropy(this.forward(b[0]), b[1]);
        this.manualBackward(loss);
        const scaler = (this.trainer.precisionPlugin as MixedPrecision).scaler!;
        const before = snapshot(this.parameters()).flat();
        const scale = scaler.getScale();
        opt.step();
        const after = snapshot(this.parameters()).flat();
        steps.push({ skipped: scaler.getScale() < scale, moved: Math.max(...after.map((v, i) => Math.abs(v - before[i]!))) });
        return loss;
      }
    }
    manualSeed(2);
    const trainer = new Trainer(baseOptions({ accelerator: "cpu", precision: "16-mixed", logger: false, maxEpochs: 1, enableCheckpointing: false }));
    await trainer.fit(new Manual());
    expect(steps).toHaveLength(4);
    for (const s of steps) {
      // A skipped step (a float16 gradient overflowed at this scale) leaves the weights alone; a
      // taken one moves them by about Adam's lr (1e-2), not by lr × the scale.
      if (s.skipped) expect(s.moved).toBe(0);
      else expect(s.moved).toBeGreaterThan(0);
      expect(s.moved).toBeLessThan(0.05);
    }
    expect(steps.some((s) => !s.skipped)).toBe(true);
  });
});
