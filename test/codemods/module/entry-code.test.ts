// `--to module`: the code before training (transforms/module/entry-code.ts) — what runs before the
// module is built and what stays where it ran.
import { describe, expect, it } from "vitest";
import { mod, script, ts } from "../helpers";

const PRELUDE = "const dataset = new data.TensorDataset(tf.zeros([8, 4]), tf.zeros([8]));";
const loop = (start: string) => ts`
  ${start}
  const model = new Net();
  const optimizer = new optim.SGD(model.parameters(), { lr: 0.1 });
  const loader = new data.DataLoader(dataset, { batchSize: 4 });
  for (let epoch = 0; epoch < args.epochs; epoch++) {
    for (const [x, y] of loader) {
      optimizer.zeroGrad();
      const loss = F.crossEntropy(model.forward(x), y);
      loss.backward();
      optimizer.step();
    }
    console.log(started);
  }
`;

describe("code before training", () => {
  it.each(["const started = Date.now();", "const started = performance.now();", "const started = new Date();"])(
    "a clock reading (%s) is not configuration: it runs in onFitStart, where the loop started",
    async (start) => {
      const out = await mod(script(loop(start), { prelude: PRELUDE }));
      expect(out).toContain(`  override onFitStart() {\n    this.started = ${start.slice("const started = ".length)}\n  }\n`);
      expect(out).toContain("    this.print(this.started);\n");
    },
  );

  it("configuration computed by a call (argument parsing) runs before the module is built, and the module reads that top-level name", async () => {
    const start = `const started = JSON.parse('{"at": 0}') as { at: number };`;
    const out = await mod(script(loop(start).replace("{ lr: 0.1 }", "{ lr: 0.1 + started.at }"), { prelude: PRELUDE }));
    expect(out).toContain(`\n${start}\nawait new Trainer(`);
    expect(out).toContain("    this.print(started);\n");
    expect(out).toContain("    return new optim.SGD(this.parameters(), { lr: 0.1 + started.at });\n");
  });
});
