import { describe, it, expect } from "vitest";
import { migrate } from "../../../src/codemods/index";

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
    const argsAt = out.indexOf("const args = ");
    const seedAt = out.indexOf("manualSeed(args.seed)");
    expect(argsAt).toBeGreaterThan(0);
    expect(seedAt).toBeGreaterThan(argsAt);
  });
});
