// `--to module`: what the codemod cannot express as a LightningModule (`CannotMap`,
// transforms/module/structure.ts and the transforms that throw it) leaves the script as it is,
// still working, with one TODO at that construct; smaller gaps get a TODO in the migrated module.
import { describe, expect, it } from "vitest";
import { migrate } from "../../../src/codemods/index";
import { script, toModule, ts } from "../helpers";

const PRELUDE = "const dataset = new data.TensorDataset(tf.zeros([8, 4]), tf.zeros([8]));";
const HEAD = ts`
  const model = new Net();
  const optimizer = new optim.SGD(model.parameters(), { lr: 0.1 });
  const loader = new data.DataLoader(dataset, { batchSize: 4 });
`;
const STEP = "    optimizer.zeroGrad();\n    const loss = F.crossEntropy(model.forward(x), y);\n    loss.backward();\n    optimizer.step();\n";

/** Migrates; expects "needs-human": the script back unchanged but for one TODO with `reason` above the line holding `at`. */
async function leftAsIs(source: string, at: string, reason: RegExp): Promise<void> {
  const result = await migrate(source, { to: "module", format: false });
  if (result.status !== "needs-human") throw new Error(`expected needs-human, got ${result.status}`);
  expect(result.reason).toMatch(reason);
  expect(result.todos).toHaveLength(1);
  expect(result.todos[0]!.reason).toMatch(/^not migrated to a LightningModule: /);
  expect(result.todos[0]!.reason).toMatch(reason);
  const lines = result.output.split("\n");
  const marker = lines.findIndex((l) => l.includes("// TODO(lit-migrate): "));
  expect(lines[marker + 1]).toContain(at);
  expect(lines.filter((_, i) => i !== marker).join("\n")).toBe(source);
  expect(result.counts.backwardRewritten).toBe(0);
  // A rerun adds no second marker.
  const again = await migrate(result.output, { to: "module", format: false });
  expect(again.status === "needs-human" && again.output).toBe(result.output);
}

describe("left as it is, with a TODO (exit 1)", () => {
  it("hand-sliced batches: no DataLoader to return from trainDataloader", async () => {
    const src = script(
      ts`
        const model = new Net();
        const optimizer = new optim.SGD(model.parameters(), { lr: 0.1 });
        const xs = tf.zeros([8, 4]);
        const ys = tf.zeros([8]);
        for (let i = 0; i < 8; i += 4) {
          optimizer.zeroGrad();
          F.crossEntropy(model.forward(xs.slice(i, 4)), ys.slice(i, 4)).backward();
          optimizer.step();
        }
      `,
    );
    await leftAsIs(src, ".backward();", /no DataLoader loop around backward\(\)/);
  });

  it("`break` out of the batch loop, and early stopping out of the epoch loop", async () => {
    // (a break as the last thing a batch does becomes onTrainBatchStart returning -1: training-step.test.ts)
    const batchBreak = script(`${HEAD}for (let epoch = 0; epoch < args.epochs; epoch++) {\n  for (const [x, y] of loader) {\n${STEP}    if (loss.item() < 0.1) break;\n    console.log(loss.item());\n  }\n}\n`, { prelude: PRELUDE });
    await leftAsIs(batchBreak, "if (loss.item() < 0.1) break;", /`break` in the middle of a batch ends the epoch early/);
    const early = script(
      `${HEAD}let best = Infinity;\nfor (let epoch = 0; epoch < args.epochs; epoch++) {\n  let total = 0;\n  for (const [x, y] of loader) {\n${STEP}    total += loss.item();\n  }\n  if (total > best) break;\n  best = total;\n}\n`,
      { prelude: PRELUDE },
    );
    await leftAsIs(early, "if (total > best) break;", /the epoch loop has a `break` in the middle of an epoch/);
  });

  it("an epoch loop that is not a counted for, a second training loop (evaluation before training stays code in onFitStart)", async () => {
    const whileLoop = script(`${HEAD}let epoch = 0;\nwhile (epoch < args.epochs) {\n  for (const [x, y] of loader) {\n${STEP}  }\n  epoch++;\n}\n`, { prelude: PRELUDE });
    await leftAsIs(whileLoop, "while (epoch < args.epochs)", /the epoch loop is not a counted for loop/);
    const two = script(`${HEAD}for (const [x, y] of loader) {\n${STEP}}\nfor (const [x, y] of loader) {\n${STEP}}\n`, { prelude: PRELUDE });
    await leftAsIs(two, "for (const [x, y] of loader)", /a second training loop/);
    const baseline = script(
      `${HEAD}const valLoader = new data.DataLoader(dataset, { batchSize: 4 });\nfor (const [x] of valLoader) model.forward(x);\nfor (const [x, y] of loader) {\n${STEP}}\n`,
      { prelude: PRELUDE },
    );
    // A loop that only evaluates before training stays code, in onFitStart (its loader is data).
    const { output } = await toModule(baseline);
    expect(output).toContain("  override onFitStart() {\n    for (const [x] of this.datasets.valLoader) this.forward(x);\n  }\n");
    expect(output).toContain("    const valLoader = new data.DataLoader(dataset, { batchSize: 4 });\n    return { valLoader };\n");
  });

  it("a function declared inside main and used by several of the module's methods stays a declaration, at the top level", async () => {
    const src = script(
      `function acc(out: tf.Tensor, y: tf.Tensor): number {\n  return out.argMax(1).equal(y).mean().item();\n}\n${HEAD}for (let epoch = 0; epoch < args.epochs; epoch++) {\n  let last = 0;\n  for (const [x, y] of loader) {\n${STEP}    last = acc(model.forward(x), y);\n  }\n  console.log(acc(model.forward(tf.zeros([1, 4])), tf.zeros([1])), last);\n}\n`,
      { prelude: PRELUDE },
    );
    const { output } = await toModule(src);
    expect(output).toContain("\n}\n\nfunction acc(out: tf.Tensor, y: tf.Tensor): number {\n  return out.argMax(1).equal(y).mean().item();\n}\nawait new Trainer(");
    expect(output).toContain("this.last = acc(this.forward(x), y);");
  });
});

describe("migrated, with TODOs for a human", () => {
  it("a `.to(x)` that may not be a device move (the Trainer moves batches itself)", async () => {
    const src = script(`${HEAD}const other = tf.zeros([1]);\nfor (const [x, y] of loader) {\n${STEP.replace("model.forward(x)", "model.forward(x.to(other))")}}\n`, { prelude: PRELUDE });
    const { output, todos } = await toModule(src);
    expect(todos.map((t) => t.reason)).toEqual([
      // (`other` is read by trainingStep and set before training: a field, typed from its factory, tf.zeros)
      "cannot tell whether `.to(other)` is a device move; the Trainer moves models and batches itself, so remove it if it is one",
    ]);
    expect(output).toBe(ts`
      import { LightningModule, Trainer } from "lightning-ts";
      import { tf, nn, F, optim, data, cuda } from "lightning-ts/torch";

      class Net extends nn.Module {
        fc = new nn.Linear(4, 2);
        override forward(x: tf.Tensor): tf.Tensor {
          return this.fc.forward(x);
        }
      }

      const dataset = new data.TensorDataset(tf.zeros([8, 4]), tf.zeros([8]));

      class NetModule extends LightningModule {
        model = new Net();
        private other!: tf.Tensor;

        constructor(private readonly args: { epochs: number }) {
          super();
        }

        override forward(x: tf.Tensor): tf.Tensor {
          return this.model.forward(x);
        }

        override onFitStart() {
          this.other = tf.zeros([1]);
        }

        override trainingStep([x, y]: [tf.Tensor, tf.Tensor], batchIdx: number) {
          // TODO(lit-migrate): cannot tell whether \`.to(other)\` is a device move; the Trainer moves models and batches itself, so remove it if it is one
          const loss = F.crossEntropy(this.forward(x.to(this.other)), y);
          this.log("train_loss", loss);
          return loss;
        }

        override configureOptimizers() {
          return new optim.SGD(this.parameters(), { lr: 0.1 });
        }

        override trainDataloader() {
          return new data.DataLoader(dataset, { batchSize: 4 });
        }
      }

      await new Trainer({ maxEpochs: 1 }).fit(new NetModule({ epochs: 1 }));
    `);
  });

  it("the TODO of a migrated module is kept by a rerun (the module is left alone)", async () => {
    const src = script(`${HEAD}const other = tf.zeros([1]);\nfor (const [x, y] of loader) {\n${STEP.replace("model.forward(x)", "model.forward(x.to(other))")}}\n`, { prelude: PRELUDE });
    const { output } = await toModule(src);
    expect(await migrate(output, { to: "module" })).toEqual({ status: "unchanged", reason: "already a LightningModule script: nothing to do" });
  });
});
