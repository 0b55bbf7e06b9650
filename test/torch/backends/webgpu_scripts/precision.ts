// Lite trains a small CNN for 10 steps under each 16-bit precision on the backend
// LIGHTNING_TS_BACKEND names (the accelerator follows it); prints the losses per precision for
// webgpu.slow.test.ts to compare with WASM.
import { LightningLite } from "lightning-ts";
import { tf, nn, F, optim, manualSeed, ready } from "lightning-ts/torch";

await ready();
const PRECISIONS = ["32-true", "16-mixed", "bf16-mixed", "16-true", "bf16-true"] as const;
const accelerator = tf.getBackend() === "webgpu" ? "webgpu" : "cpu";

class Run extends LightningLite {
  override run(): number[] {
    manualSeed(0);
    let model = new nn.Sequential(new nn.Conv2d(1, 4, 3, { padding: 1 }), new nn.ReLU(), new nn.MaxPool2d(2), new nn.Flatten(), new nn.Linear(4 * 4 * 4, 10));
    let optimizer = new optim.Adam(model.parameters(), { lr: 1e-2 });
    [model, optimizer] = this.setup(model, optimizer);
    const x = tf.randomNormal([16, 1, 8, 8], 0, 1, "float32", 1);
    const y = tf.randomUniformInt([16], 0, 10, 2);
    const losses: number[] = [];
    for (let i = 0; i < 10; i++) {
      optimizer.zeroGrad();
      const loss = F.crossEntropy(model.forward(x), y);
      this.backward(loss);
      optimizer.step();
      losses.push(loss.item());
    }
    return losses;
  }
}

const out: Record<string, number[]> = {};
for (const precision of PRECISIONS) out[precision] = await new Run({ accelerator, precision }).run();
console.log(`PRECISION ${tf.getBackend()} ${JSON.stringify(out)}`);
