// `--to module` on batches sliced by hand (hand-sliced.ts): the batch loop's own header becomes
// the list of values the Trainer iterates, one training step each, and the step slices the batch
// as the script did. The trace equivalence of such a script runs in test/fixtures (the
// transformer_tutorial port).
import { describe, expect, it } from "vitest";
import { migrate } from "../../../src/codemods/index";
import { member, mod, ts } from "../helpers";

const SLICED = ts`
  import { tf, nn, F, optim, manualSeed } from "lightning-ts/torch";

  manualSeed(0);
  const x = tf.randomNormal([64, 3]);
  const y = tf.randomNormal([64, 1]);
  const bs = 16;
  const model = new nn.Linear(3, 1);
  const optimizer = new optim.SGD(model.parameters(), { lr: 0.1 });
  for (let epoch = 0; epoch < 5; epoch++) {
    for (let batch = 0, i = 0; i < x.shape[0]; batch++, i += bs) {
      const xb = x.slice(i, bs);
      const yb = y.slice(i, bs);
      const loss = F.mseLoss(model.forward(xb), yb);
      optimizer.zeroGrad();
      loss.backward();
      optimizer.step();
      if (batch % 2 === 0) console.log(batch, loss.item());
    }
  }
`;

describe("batches sliced by hand → the loop's own values as the training iterable", () => {
  it("counts the header's values once, before the module, and trains one step per value", async () => {
    const out = await mod(SLICED);
    expect(out).toMatch(/const trainBatches: \[number, number\]\[\] = Array\.from\(\s*\(function\* \(\) \{\s*for \(let batch = 0, i = 0; i < x\.shape\[0\]; batch\+\+, i \+= bs\)\s+yield \[batch, i\] as \[number, number\];/);
    expect(member(out, "trainDataloader")).toContain("return trainBatches;");
    const step = member(out, "trainingStep")!;
    expect(step).toMatch(/trainingStep\(\[batch, i\]: \[number, number\], batchIdx: number\)/);
    expect(step).toContain("const xb = x.slice(i, bs);");
    expect(step).toContain("this.print(batch, loss.item());");
    // Each value weighs one step in the epoch mean, as it did in the loop.
    expect(out).toContain("await new Trainer({ maxEpochs: 5 }).fit(");
  });

  it("keeps a loop whose body moves its own counter (the values are not known beforehand) for a human", async () => {
    const moved = SLICED.replace("const xb = x.slice(i, bs);", "const xb = x.slice(i, bs);\n    if (xb.shape[0] < bs) i = x.shape[0];");
    const result = await migrate(moved, { to: "module" });
    expect(result.status).toBe("needs-human");
    expect((result as { reason: string }).reason).toMatch(/sliced by hand/);
  });

  it("keeps a loop whose bound the training changes for a human", async () => {
    const changing = SLICED.replace("const bs = 16;", "let bs = 16;").replace("optimizer.step();", "optimizer.step();\n      bs = 8;");
    const result = await migrate(changing, { to: "module" });
    expect(result.status).toBe("needs-human");
  });
});
