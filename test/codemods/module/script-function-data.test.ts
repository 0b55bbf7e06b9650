// `--to module` on a top-level script whose own test function iterates a global DataLoader
// (pytorch/examples vae/main.py's `test(epoch)`): the loader is data the module builds in
// loadDatasets(), so the function, now a method, reads it as this.datasets.testLoader
// (dataloaders.ts inScriptFunction).
import { describe, expect, it } from "vitest";
import { member, mod, ts } from "../helpers";

const SCRIPT = ts`
  import { tf, nn, F, optim, data, manualSeed, noGrad } from "lightning-ts/torch";

  manualSeed(1);
  const trainLoader = new data.DataLoader(new data.TensorDataset(tf.randomNormal([16, 4]), tf.zeros([16], "int32")), { batchSize: 4, shuffle: true });
  const testLoader = new data.DataLoader(new data.TensorDataset(tf.randomNormal([8, 4]), tf.zeros([8], "int32")), { batchSize: 4 });

  class Net extends nn.Module {
    fc = new nn.Linear(4, 3);
    override forward(x: tf.Tensor): tf.Tensor {
      return this.fc.forward(x);
    }
  }
  const model = new Net();
  const optimizer = new optim.SGD(model.parameters(), { lr: 0.1 });

  function train(): void {
    for (const [x, y] of trainLoader) {
      optimizer.zeroGrad();
      const loss = F.crossEntropy(model.forward(x), y);
      loss.backward();
      optimizer.step();
    }
  }

  function test(epoch: number): void {
    let testLoss = 0;
    noGrad(() => {
      let i = 0;
      for (const [x, y] of testLoader) {
        testLoss += F.crossEntropy(model.forward(x), y).item();
        if (i === 0) console.log("first batch", epoch);
        i++;
      }
    });
    console.log(testLoss / testLoader.dataset.length);
  }

  for (let epoch = 1; epoch <= 2; epoch++) {
    train();
    test(epoch);
  }
`;

describe("a script's own function iterating a global DataLoader", () => {
  it("reads it from loadDatasets() as this.datasets, once the function is a method", async () => {
    const out = await mod(SCRIPT);
    expect(member(out, "loadDatasets")).toMatch(/return \{ trainLoader, testLoader \};/);
    const test = member(out, "test");
    expect(test).toContain("for (const [x, y] of this.datasets.testLoader)");
    expect(test).toContain("this.datasets.testLoader.dataset.length");
    expect(test).not.toMatch(/[^.]testLoader\b/);
  });
});
