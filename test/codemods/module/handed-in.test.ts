// `--to module` on a training function that is handed its model and its data
// (`train(model, loader, epochs)`): the module takes them in its constructor, as Lightning's
// `LitModel(model)` wrappers do (transforms/module/models.ts modelParameter, structure.ts
// selfContainedIterable, dataloaders.ts).
import { describe, expect, it } from "vitest";
import { member, mod, ts } from "../helpers";

const HANDED_IN = ts`
  import { tf, nn, F, optim, data, manualSeed } from "lightning-ts/torch";

  manualSeed(1);

  class Net extends nn.Module {
    fc = new nn.Linear(4, 3);
    override forward(x: tf.Tensor): tf.Tensor {
      return this.fc.forward(x);
    }
  }

  function train(model: Net, loader: data.DataLoader, epochs: number): void {
    const optimizer = new optim.SGD(model.parameters(), { lr: 0.1 });
    for (let epoch = 0; epoch < epochs; epoch++) {
      for (const [x, y] of loader) {
        optimizer.zeroGrad();
        const loss = F.crossEntropy(model.forward(x), y);
        loss.backward();
        optimizer.step();
      }
    }
  }

  const net = new Net();
  const loader = new data.DataLoader(new data.TensorDataset(tf.randomNormal([16, 4]), tf.zeros([16], "int32")), { batchSize: 4 });
  train(net, loader, 2);
`;

describe("a model and a loader handed to the training function", () => {
  it("are the module's constructor parameters: the model its model, the loader what trainDataloader() returns", async () => {
    const out = await mod(HANDED_IN);
    expect(member(out, "constructor")).toContain("private readonly model: Net,");
    expect(member(out, "constructor")).toContain("private readonly loader: data.DataLoader,");
    expect(member(out, "forward")).toContain("return this.model.forward(x);");
    expect(member(out, "configureOptimizers")).toContain("return new optim.SGD(this.parameters(), { lr: 0.1 });");
    expect(member(out, "trainDataloader")).toContain("return this.loader;");
    // A loader declared as a DataLoader yields tensor batches.
    expect(out).toContain("override trainingStep([x, y]: [tf.Tensor, tf.Tensor], batchIdx: number) {");
    // No second model field: the constructor's property is the model.
    expect(out).not.toMatch(/^\s+(readonly )?model[:=]/m);
    expect(out).toContain("await new Trainer({ maxEpochs: 2 }).fit(new LitModule(net, loader, 2));");
  });
});
