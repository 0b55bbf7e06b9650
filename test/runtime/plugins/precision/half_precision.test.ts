/**
 * `16-true` / `bf16-true`: the model is 16-bit — parameters and buffers rounded at setup and
 * 16-bit values after every optimizer step, every kernel's output rounded — in Lite and the
 * Trainer.
 */
import { describe, it, expect, beforeAll } from "vitest";
import { Trainer, LightningLite } from "lightning-ts";
import { tf, nn, F, optim, manualSeed, amp } from "lightning-ts/torch";
import { usePureJsCpu, batch, labels } from "../../helpers";
import { baseOptions, Classifier, withLossTrace } from "../../trainer/helpers";

class TestLite extends LightningLite {
  run(): void {}
}

class BnNet extends nn.Module {
  fc1 = new nn.Linear(6, 8);
  bn = new nn.BatchNorm1d(8);
  fc2 = new nn.Linear(8, 3);
  override forward(x: tf.Tensor): tf.Tensor {
    return this.fc2.forward(F.relu(this.bn.forward(this.fc1.forward(x))));
  }
}

/** Whether every float value of the module's parameters and buffers is a `format` value. */
function allRepresentable(module: nn.Module, format: amp.HalfFormat): boolean {
  return [...module.parameters(), ...module.buffers()]
    .filter((v) => v.dtype === "float32")
    .every((v) => {
      const values = Array.from(v.dataSync());
      return JSON.stringify(Array.from(amp.roundTensorToHalf(v, format).dataSync())) === JSON.stringify(values);
    });
}

describe("16-true and bf16-true", () => {
  beforeAll(usePureJsCpu);

  for (const [precision, format] of [["16-true", "float16"], ["bf16-true", "bfloat16"]] as const) {
    it(`${precision}: parameters and buffers are ${format} values at setup and after every step; it trains`, () => {
      manualSeed(1);
      const net = new BnNet();
      expect(allRepresentable(net, format)).toBe(false);
      const lite = new TestLite({ accelerator: "cpu", precision });
      const [model, opt] = lite.setup(net, new optim.SGD(net.parameters(), { lr: 0.1, momentum: 0.9 }));
      expect(allRepresentable(net, format)).toBe(true);
      const losses: number[] = [];
      for (let i = 0; i < 10; i++) {
        opt.zeroGrad();
        const out = model.forward(batch(16, 6));
        // the output of a 16-bit model is 16-bit
        expect(Array.from(out.dataSync())).toEqual(Array.from(amp.roundTensorToHalf(out, format).dataSync()));
        const loss = F.crossEntropy(out, labels(16, 3));
        lite.backward(loss);
        for (const p of net.parameters()) expect(Array.from(p.grad!.dataSync())).toEqual(Array.from(amp.roundTensorToHalf(p.grad!, format).dataSync()));
        opt.step();
        expect(allRepresentable(net, format)).toBe(true);
        losses.push(loss.item());
      }
      expect(losses[9]!).toBeLessThan(losses[0]! * 0.85);
    });
  }

  it("Adam's default eps (1e-8) is below float16's smallest subnormal: it rounds to 0, as in a float16 model, and the first steps divide by zero", () => {
    manualSeed(1);
    const net = new nn.Linear(6, 3);
    const lite = new TestLite({ accelerator: "cpu", precision: "16-true" });
    const [model, opt] = lite.setup(net, new optim.Adam(net.parameters(), { lr: 1e-3 }));
    opt.zeroGrad();
    // a zero input column gives exactly zero gradients: m = v = 0 and 0 / (0 + eps) is NaN once eps is 0
    const x = tf.concat([batch(4, 5), tf.zeros([4, 1])], 1);
    lite.backward(F.crossEntropy(model.forward(x), labels(4, 3)));
    opt.step();
    expect(Array.from(net.weight.dataSync()).some((v) => Number.isNaN(v))).toBe(true);
  });

  it("the Trainer fits a 16-true model, and its losses are close to 32-true's", async () => {
    const run = async (precision: string) =>
      withLossTrace(async () => {
        manualSeed(5);
        const trainer = new Trainer(baseOptions({ accelerator: "cpu", precision: precision as never, logger: false, maxEpochs: 2, enableCheckpointing: false }));
        await trainer.fit(new Classifier({ optimizer: "sgd", lr: 0.1, shuffle: false }));
      });
    const full = await run("32-true");
    const half = await run("16-true");
    expect(half).toHaveLength(full.length);
    expect(half).not.toEqual(full);
    for (let i = 0; i < full.length; i++) expect(Math.abs(half[i]! - full[i]!) / full[i]!).toBeLessThan(2e-2);
  });
});
