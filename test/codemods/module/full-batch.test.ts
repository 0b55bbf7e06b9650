// `--to module` on full-batch training (full-batch.ts): every epoch trains once on all the data
// with no batch loop, as pytorch/tutorials' polynomial fits and time_sequence_prediction do. The
// module gets a one-batch DataLoader of the same tensors; what the epoch does around the step
// stays epoch code. The equivalence of the traces is checked on the real ports
// (fixtures/real/polynomial_optim, time_sequence_prediction).
import { describe, expect, it } from "vitest";
import { migrate } from "../../../src/codemods/index";
import { member, mod, ts } from "../helpers";

const FULL_BATCH = ts`
  import { tf, nn, F, optim, manualSeed } from "lightning-ts/torch";

  manualSeed(0);
  const x = tf.randomNormal([64, 3]);
  const y = tf.randomNormal([64, 1]);
  const data = "a script variable named like the torch namespace";
  const model = new nn.Linear(3, 1);
  const optimizer = new optim.SGD(model.parameters(), { lr: 0.1 });
  for (let epoch = 0; epoch < 20; epoch++) {
    console.log("epoch", epoch, data.length);
    // forward on everything
    const out = model.forward(x);
    const loss = F.mseLoss(out, y);
    optimizer.zeroGrad();
    loss.backward();
    optimizer.step();
    console.log(loss.item());
  }
`;

describe("full-batch training → a one-batch DataLoader", () => {
  it("gives trainDataloader the tensors the step trains on, in the order it names them, under a free name for the data namespace", async () => {
    const out = await mod(FULL_BATCH);
    expect(out).toMatch(/import \{[^}]*\bdata as torchData\b[^}]*\} from "lightning-ts\/torch"/);
    expect(member(out, "trainDataloader")!.replace(/\s+/g, " ")).toContain(
      "return new torchData.DataLoader(new torchData.TensorDataset(x, y), { batchSize: x.shape[0], });",
    );
    const step = member(out, "trainingStep")!;
    expect(step).toMatch(/trainingStep\(\[x, y\]: \[tf\.Tensor, tf\.Tensor\]/);
    expect(step).toContain("// forward on everything");
    // The report that reads the step's loss is step code; the epoch's own print is epoch code.
    expect(step).toContain("this.print(loss.item());");
    expect(member(out, "onTrainEpochStart")).toContain('this.print("epoch", this.currentEpoch, data.length);');
    expect(out).toContain("await new Trainer({ maxEpochs: 20 }).fit(");
  });

  it("leaves a loop that trains on data it draws itself (nothing to batch) to a human", async () => {
    const drawn = FULL_BATCH.replace("const out = model.forward(x);", "const out = model.forward(tf.randomNormal([64, 3]));").replace(
      "const loss = F.mseLoss(out, y);",
      "const loss = F.mseLoss(out, tf.zeros([64, 1]));",
    );
    const result = await migrate(drawn, { to: "module" });
    expect(result.status).toBe("needs-human");
    expect((result as { reason: string }).reason).toMatch(/once per epoch on the whole data/);
  });
});

const LBFGS = ts`
  import { pathToFileURL } from "node:url";
  import { tf, nn, optim, manualSeed, noGrad } from "lightning-ts/torch";

  class Net extends nn.Module {
    fc = new nn.Linear(3, 1);
    override forward(input: tf.Tensor2D): tf.Tensor {
      return this.fc.forward(input);
    }
  }

  if (import.meta.url === pathToFileURL(process.argv[1]).href) {
    manualSeed(0);
    const input = tf.randomNormal([16, 3]) as tf.Tensor2D;
    const target = tf.randomNormal([16, 1]);
    const net = new Net();
    const criterion = new nn.MSELoss();
    const optimizer = new optim.LBFGS(net.parameters(), { lr: 0.8 });
    for (let i = 0; i < 3; i++) {
      const closure = () => {
        optimizer.zeroGrad();
        const loss = criterion.forward(net.forward(input), target);
        loss.backward();
        return loss;
      };
      optimizer.step(closure);
      noGrad(() => {
        const loss = criterion.forward(net.forward(input), target);
        console.log("after the step:", loss.item());
      });
    }
  }
`;

describe("optimizer.step(closure) (LBFGS) and the main guard", () => {
  it("makes the closure's statements the training step; the Trainer calls the optimizer with its own closure", async () => {
    const out = await mod(LBFGS);
    const step = member(out, "trainingStep")!;
    expect(step).toContain("const loss = this.criterion.forward(this.forward(input), target);");
    expect(step).toContain("return loss;");
    expect(step).not.toMatch(/closure|zeroGrad|backward|\.step\(/);
    // The batch is typed as the model's forward takes it.
    expect(step).toMatch(/\[input, target\]: \[tf\.Tensor2D, tf\.Tensor\]/);
    expect(member(out, "configureOptimizers")).toContain("return new optim.LBFGS(this.parameters(), { lr: 0.8 });");
    expect(member(out, "onTrainEpochEnd")).toContain('this.print("after the step:", loss.item());');
  });

  it("declares the module above the main guard and runs the Trainer inside it", async () => {
    const out = await mod(LBFGS);
    const classAt = out.indexOf("class NetModule extends LightningModule");
    const guardAt = out.indexOf("if (import.meta.url === pathToFileURL(process.argv[1]).href) {");
    expect(classAt).toBeGreaterThan(-1);
    expect(guardAt).toBeGreaterThan(classAt);
    expect(out.slice(guardAt)).toMatch(/manualSeed\(0\);\s+await new Trainer\(\{ maxEpochs: 3 \}\)\.fit\(new NetModule\(\)\);\s+\}\s*$/);
  });

  it("refuses (needs a human) when the step would need manual optimisation: the closure cannot be written out there", async () => {
    const readsGrads = LBFGS.replace("loss.backward();\n", "loss.backward();\n      console.log(net.fc.weight.grad);\n");
    const result = await migrate(readsGrads, { to: "module" });
    expect(result.status).toBe("needs-human");
    expect((result as { reason: string }).reason).toMatch(/steps with a closure/);
    // The TODO is in the script as written, at its backward.
    expect((result as { output: string }).output).toContain("const closure = () => {");
  });
});
