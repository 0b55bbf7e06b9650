// `--to module`: the script's own functions that read what the module now holds become its
// private methods (transforms/module/helper-methods.ts).
import { describe, expect, it } from "vitest";
import { mod, script, ts } from "../helpers";

const PRELUDE = "const dataset = new data.TensorDataset(tf.zeros([8, 4]), tf.zeros([8]));";
const LOOP = ts`
  for (let epoch = 0; epoch < args.epochs; epoch++) {
    for (const [x, y] of loader) {
      optimizer.zeroGrad();
      const loss = F.crossEntropy(model.forward(x), y);
      loss.backward();
      optimizer.step();
    }
    report(epoch);
  }
`;
const HEAD = ts`
  const model = new Net();
  const optimizer = new optim.SGD(model.parameters(), { lr: 0.1 });
  const loader = new data.DataLoader(dataset, { batchSize: 4 });
`;

describe("helper methods", () => {
  it("a function declared in main that reads the model → a private method, called through this", async () => {
    const report = ts`
      function report(epoch: number) {
        console.log(epoch, model.fc.weight.shape);
      }
    `;
    const out = await mod(script(HEAD + report + LOOP, { prelude: PRELUDE }));
    expect(out).toContain(ts`
      override onTrainEpochEnd() {
        this.report(this.currentEpoch);
      }
    `.replace(/^/gm, "  ").replace(/^  $/gm, ""));
    expect(out).toContain(ts`
      private report(epoch: number) {
        this.print(epoch, this.model.fc.weight.shape);
      }
    `.replace(/^/gm, "  ").replace(/^  $/gm, ""));
  });

  it("a function that reads nothing of the module stays a plain function (at the top level)", async () => {
    const report = ts`
      function report(epoch: number) {
        console.log("epoch", epoch);
      }
    `;
    const out = await mod(script(HEAD + report + LOOP, { prelude: PRELUDE }));
    expect(out).toContain("    report(this.currentEpoch);\n");
    expect(out).toContain('\nfunction report(epoch: number) {\n  console.log("epoch", epoch);\n}\n');
    expect(out).not.toContain("private report");
  });
});
