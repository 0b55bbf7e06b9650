import { describe, it, expect } from "vitest";
import { migrate } from "../../../src/codemods/index";
import { ts } from "../helpers";

const script = `import { tf, nn, F, optim, data, manualSeed } from "lightning-ts/torch";

class Net extends nn.Module {
  fc = new nn.Linear(4, 2);
  override forward(x: tf.Tensor): tf.Tensor {
    return this.fc.forward(x);
  }
}

async function main(args: { epochs: number; seed: number }) {
  manualSeed(args.seed);
  const model = new Net();
  const optimizer = new optim.SGD(model.parameters(), { lr: 0.1 });
  const loader = new data.DataLoader(new data.SyntheticClassification({ numSamples: 32, numFeatures: 4, numClasses: 2 }), { batchSize: 8 });
  for (let epoch = 0; epoch < args.epochs; epoch++) {
    for (const [x, y] of loader) {
      optimizer.zeroGrad();
      const loss = F.crossEntropy(model.forward(x), y);
      loss.backward();
      optimizer.step();
    }
  }
}

const values = { epochs: "2", seed: "3" };
await main({ epochs: Number(values.epochs), seed: Number(values.seed) });
`;

describe("--to module call site", () => {
  it("declares main's arguments before the seeding code that reads them", async () => {
    const result = await migrate(script, { to: "module", fileName: "train.ts" });
    expect(result.status, JSON.stringify(result)).toBe("migrated");
    const out = (result as { output: string }).output;
    expect(out).toBe(ts`
      import { LightningModule, Trainer } from "lightning-ts";
      import { tf, nn, F, optim, data, manualSeed } from "lightning-ts/torch";

      class Net extends nn.Module {
        fc = new nn.Linear(4, 2);
        override forward(x: tf.Tensor): tf.Tensor {
          return this.fc.forward(x);
        }
      }

      class NetModule extends LightningModule {
        model = new Net();

        constructor(private readonly args: { epochs: number; seed: number }) {
          super();
        }

        override forward(x: tf.Tensor): tf.Tensor {
          return this.model.forward(x);
        }

        override trainingStep([x, y]: [tf.Tensor, tf.Tensor], batchIdx: number) {
          const loss = F.crossEntropy(this.forward(x), y);
          this.log("train_loss", loss);
          return loss;
        }

        override configureOptimizers() {
          return new optim.SGD(this.parameters(), { lr: 0.1 });
        }

        override trainDataloader() {
          return new data.DataLoader(new data.SyntheticClassification({ numSamples: 32, numFeatures: 4, numClasses: 2 }), {
            batchSize: 8,
          });
        }
      }

      const values = { epochs: "2", seed: "3" };
      const args = { epochs: Number(values.epochs), seed: Number(values.seed) };
      manualSeed(args.seed);
      await new Trainer({ maxEpochs: args.epochs }).fit(new NetModule(args));
    `);
  });
});
