// `--to module` on an epoch that loops over its phases (`for (const phase of ["train", "val"])`,
// pytorch/tutorials' transfer-learning shape): phase-loop.ts unrolls it, then the pipeline maps
// the phases to trainingStep and validationStep. The trace equivalence runs on fixtures/phases.
import { describe, expect, it } from "vitest";
import { migrate } from "../../../src/codemods/index";
import { member, mod, ts } from "../helpers";

const script = (phaseBody: string, phases = `["train", "val"]`) => ts`
  import { tf, nn, F, optim, data } from "lightning-ts/torch";

  const trainLoader = new data.DataLoader(new data.TensorDataset(tf.randomNormal([16, 3]), tf.randomNormal([16, 1])), { batchSize: 4 });
  const valLoader = new data.DataLoader(new data.TensorDataset(tf.randomNormal([8, 3]), tf.randomNormal([8, 1])), { batchSize: 4 });
  const model = new nn.Linear(3, 1);
  const optimizer = new optim.SGD(model.parameters(), { lr: 0.1 });

  for (let epoch = 0; epoch < 2; epoch++) {
    for (const phase of ${phases}) {
      ${phaseBody}
    }
  }
`;

const body = `
      if (phase === "train") model.train();
      else model.eval();
      let total = 0;
      for (const [x, y] of phase === "train" ? trainLoader : valLoader) {
        const loss = F.mseLoss(model.forward(x), y);
        if (phase !== "val") {
          optimizer.zeroGrad();
          loss.backward();
          optimizer.step();
        }
        total += loss.item();
      }
      console.log(\`\${phase}: \${total}\`);`;

describe("a loop over the phases of an epoch", () => {
  it("becomes trainingStep and validationStep: comparisons decided, dead branches dropped, names per phase", async () => {
    const result = await migrate(script(body), { to: "module" });
    expect(result.status).toBe("migrated");
    const out = (result as { output: string }).output;
    expect((result as { notes: string[] }).notes.join("\n")).toMatch(/loop over phases `\["train", "val"\]` \(line \d+\) → its phases one after the other/);
    const step = member(out, "trainingStep");
    expect(step).toContain("this.trainTotal += loss.item();");
    expect(step).not.toMatch(/phase|valTotal/);
    const validation = member(out, "validationStep");
    expect(validation).toContain("this.valTotal += loss.item();");
    expect(validation).not.toMatch(/backward|optimizer\.step/);
    // `${phase}` in a template is the phase's own text
    expect(out).toContain("this.print(`train: ${this.trainTotal}`);");
    expect(out).toContain("this.print(`val: ${this.valTotal}`);");
    expect(member(out, "trainDataloader")).toMatch(/return (this\.datasets\.)?trainLoader;/);
    expect(member(out, "valDataloader")).toMatch(/return (this\.datasets\.)?valLoader;/);
  });

  it("decides &&, || and ! around a comparison and keeps the other operand", async () => {
    const out = await mod(
      script(`
      let best = 0;
      for (const [x, y] of phase === "train" ? trainLoader : valLoader) {
        const loss = F.mseLoss(model.forward(x), y);
        if (!(phase === "val") || false) {
          optimizer.zeroGrad();
          loss.backward();
          optimizer.step();
        }
        if (phase === "val" && loss.item() > best) best = loss.item();
      }`),
    );
    expect(member(out, "validationStep")).toContain("if (loss.item() > this.valBest) this.valBest = loss.item();");
    expect(member(out, "trainingStep")).not.toContain("Best");
  });

  it("leaves a loop over anything else than string phases alone", async () => {
    const result = await migrate(script(body.replaceAll('"train"', "1").replaceAll('"val"', "2"), "[1, 2]"), { to: "module" });
    expect(result.status).toBe("needs-human");
  });
});
