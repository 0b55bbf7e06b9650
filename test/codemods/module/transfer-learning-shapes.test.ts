// `--to module` on the shapes of pytorch/tutorials' transfer-learning tutorial, each alone: the
// epoch loop in a function the top level calls once with the model, optimizer and scheduler it
// built (inline-training-function.ts), training inside `try { } finally`, loaders looked up in a
// record, a new head put on the model before the optimizer is built, and a torch namespace
// aliased by a const. The trace equivalence runs on the port itself
// (fixtures/real/transfer_learning).
import { describe, expect, it } from "vitest";
import { migrate } from "../../../src/codemods/index";
import { member, mod, toModule, ts } from "../helpers";

const script = ({ call = "model = await trainModel(model, optimizer, scheduler, 2);", body = "" } = {}) => ts`
  import { mkdtempSync, rmSync } from "node:fs";
  import { tf, nn, F, optim, data } from "lightning-ts/torch";

  const lrScheduler = optim.lrScheduler;

  class Net extends nn.Module {
    body = new nn.Linear(4, 8);
    fc = new nn.Linear(8, 3);
    override forward(x: tf.Tensor): tf.Tensor {
      return this.fc.forward(F.relu(this.body.forward(x)));
    }
  }

  const loaders: Record<string, data.DataLoader<[tf.Tensor, tf.Tensor]>> = {
    train: new data.DataLoader(new data.TensorDataset(tf.randomNormal([16, 4]), tf.zeros([16], "int32")), { batchSize: 4 }),
    val: new data.DataLoader(new data.TensorDataset(tf.randomNormal([8, 4]), tf.zeros([8], "int32")), { batchSize: 4 }),
  };

  async function trainModel(model: Net, optimizer: optim.Optimizer, scheduler: optim.lrScheduler.LRScheduler, numEpochs = 25): Promise<Net> {
    const dir = mkdtempSync("ckpt-");
    try {
      for (let epoch = 0; epoch < numEpochs; epoch++) {
        for (const [x, y] of loaders["train"]) {
          optimizer.zeroGrad();
          const loss = F.crossEntropy(model.forward(x), y);
          loss.backward();
          optimizer.step();
        }
        scheduler.step();
        console.log(\`epoch \${epoch} done\`);
      }
      ${body}
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    return model;
  }

  let model = new Net();
  const numFtrs = model.fc.inFeatures;
  model.fc = new nn.Linear(numFtrs, 2);
  const optimizer = new optim.SGD(model.parameters(), { lr: 0.1, momentum: 0.9 });
  const scheduler = new lrScheduler.StepLR(optimizer, { stepSize: 1, gamma: 0.5 });
  ${call}
`;

describe("the transfer-learning tutorial's shapes", () => {
  it("inlines the training function called once: its parameters are the arguments, a literal one a const, the return the assignment it fed", async () => {
    const { output, notes } = await toModule(script());
    expect(notes.join("\n")).toMatch(/trainModel\(\.\.\.\) \(line \d+\), which holds the epoch loop, → its body in place of the call/);
    expect(output).not.toContain("function trainModel");
    expect(output).toContain("await new Trainer({ maxEpochs: 2 }).fit(new ");
    // (`model = model` is not written back)
    expect(output).not.toMatch(/^model = /m);
  });

  it("fits inside the script's try { } finally, with what the module reads declared before it", async () => {
    const out = await mod(script());
    expect(out).toMatch(/const dir = mkdtempSync\("ckpt-"\);\s+try \{\s+await new Trainer\(\{ maxEpochs: 2 \}\)\.fit\(new \w+\(\)\);\s+\} finally \{\s+rmSync\(dir, \{ recursive: true, force: true \}\);\s+\}/);
  });

  it("looks the training loader up in its record", async () => {
    const out = await mod(script());
    expect(member(out, "trainDataloader")).toMatch(/return (this\.datasets\.)?loaders\["train"\];/);
  });

  it("puts the new head on in the constructor, before configureOptimizers builds the optimizer over it", async () => {
    const out = await mod(script());
    expect(member(out, "constructor")).toMatch(/const numFtrs = this\.model\.fc\.inFeatures;\s+this\.model\.fc = new nn\.Linear\(numFtrs, 2\);/);
    expect(member(out, "onFitStart") ?? "").not.toContain("fc =");
  });

  it("knows a scheduler built through a const alias of optim.lrScheduler", async () => {
    const out = await mod(script());
    const conf = member(out, "configureOptimizers")!;
    expect(conf).toMatch(/const scheduler = new lrScheduler\.StepLR\(optimizer, \{/);
    expect(conf.replace(/\s+/g, " ")).toContain('return { optimizer, lrScheduler: { scheduler, interval: "epoch" as const }, };');
  });

  it("refuses code after the try that reads what its finally does (it would run before the finally)", async () => {
    const src = ts`
      import { rmSync, mkdtempSync } from "node:fs";
      import { tf, nn, F, optim, data } from "lightning-ts/torch";
      const loader = new data.DataLoader(new data.TensorDataset(tf.randomNormal([8, 4]), tf.zeros([8], "int32")), { batchSize: 4 });
      const model = new nn.Linear(4, 2);
      const optimizer = new optim.SGD(model.parameters(), { lr: 0.1 });
      const dir = mkdtempSync("x-");
      try {
        for (let epoch = 0; epoch < 2; epoch++) {
          for (const [x, y] of loader) {
            optimizer.zeroGrad();
            F.crossEntropy(model.forward(x), y).backward();
            optimizer.step();
          }
        }
      } finally {
        rmSync(dir, { recursive: true });
      }
      console.log(dir);
    `;
    const result = await migrate(src, { to: "module" });
    expect(result.status).toBe("needs-human");
    expect((result as { reason: string }).reason).toMatch(/reads what its catch or finally does \(`dir/);
  });

  it("a training function called twice, each run inside its own try/finally: each call gets the try around its Trainer, with what the finally reads", async () => {
    const result = await migrate(script({ call: "model = await trainModel(model, optimizer, scheduler, 2);\nmodel = await trainModel(model, optimizer, scheduler, 1);" }), { to: "module" });
    expect(result.status).toBe("migrated");
    const output = (result as { output: string }).output;
    for (const epochs of [2, 1]) {
      expect(output).toContain(ts`
        {
          const dir = mkdtempSync("ckpt-");
          try {
            await new Trainer({ maxEpochs: ${epochs} }).fit(
              new LitModule(model, optimizer, scheduler, ${epochs}),
            );
          } finally {
            rmSync(dir, { recursive: true, force: true });
          }
        }
      `.trim());
    }
    expect(output).not.toMatch(/return (this\.)?model;|model = model/);
  });

  it("what the finally reads and the module reads too is handed to the module's constructor", async () => {
    const body = "const marker = join(dir, \"best.txt\");\n";
    const src = script({ call: "model = await trainModel(model, optimizer, scheduler, 2);\nmodel = await trainModel(model, optimizer, scheduler, 1);" })
      .replace('import { mkdtempSync, rmSync } from "node:fs";', 'import { mkdtempSync, rmSync, writeFileSync } from "node:fs";\nimport { join } from "node:path";')
      .replace("const dir = mkdtempSync(\"ckpt-\");\n    try {\n", `const dir = mkdtempSync("ckpt-");\n    try {\n      ${body}`)
      .replace("console.log(`epoch ${epoch} done`);", "console.log(`epoch ${epoch} done`);\n        writeFileSync(marker, String(epoch));");
    expect(src).toContain("writeFileSync(marker");
    const result = await migrate(src, { to: "module" });
    expect(result.status).toBe("migrated");
    const output = (result as { output: string }).output;
    expect(output).toMatch(/readonly marker: string,?\n/);
    expect(output).toContain("writeFileSync(this.marker, String(this.currentEpoch));");
    expect(output.match(/const marker = join\(dir, "best.txt"\);/g)).toHaveLength(2);
    expect(output.match(/new LitModule\(model, optimizer, scheduler, \d, marker\)/g)).toHaveLength(2);
  });
});
