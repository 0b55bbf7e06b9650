// `--to module`: the script's own functions that read what the module now holds become its
// private methods (transforms/module/helper-methods.ts).
import { describe, expect, it } from "vitest";
import { migrate } from "../../../src/codemods/index";
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

describe("what runs around training in the script's own functions", () => {
  const prelude =
    "const dataset = new data.TensorDataset(tf.zeros([8, 4]), tf.zeros([8]));\n" +
    "function evaluate(model: Net) {\n  model.eval();\n  console.log(model.forward(tf.zeros([1, 4])).shape);\n}";
  const body = ts`
    const model = new Net();
    const optimizer = new optim.SGD(model.parameters(), { lr: 0.1 });
    const loader = new data.DataLoader(dataset, { batchSize: 4 });
    if (args.epochs === 0) {
      evaluate(model);
      return;
    }
    for (let epoch = 0; epoch < args.epochs; epoch++) {
      model.train();
      for (const [x, y] of loader) {
        optimizer.zeroGrad();
        const loss = F.crossEntropy(model.forward(x), y);
        loss.backward();
        optimizer.step();
      }
      evaluate(model);
    }
  `;

  it("a return before training (an evaluate-only path) → trainer.shouldStop in onFitStart; model.train() stays when a called function switches to eval", async () => {
    const out = await mod(script(body, { prelude }));
    expect(out).toContain(ts`
      override onFitStart() {
        if (this.args.epochs === 0) {
          evaluate(this.model);
          this.trainer.shouldStop = true;
          return;
        }
      }

      override onTrainEpochStart() {
        this.model.train();
      }
    `.replace(/^/gm, "  ").replace(/^  $/gm, ""));
    expect(out).toContain("  override onTrainEpochEnd() {\n    evaluate(this.model);\n  }\n");
  });

  it("the same return with code after training (which main would skip) needs a human", async () => {
    const result = await migrate(script(`${body}console.log("done");\n`, { prelude }), { to: "module" });
    expect(result.status === "needs-human" && result.reason).toMatch(/^`return` before training ends the training function early, and code after training would still run/);
  });
});
