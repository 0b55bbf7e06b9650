// transforms/lite/setup-models.ts, setup-dataloaders.ts, checkpoint-io.ts, clip-gradients.ts.
import { describe, expect, it } from "vitest";
import { lite, runBody, script, toLite, ts } from "../helpers";

const PRELUDE = ts`
  const dataset = new data.TensorDataset(tf.zeros([8, 4]), tf.zeros([8], "int32"));
  class Critic extends Net {}
`;
const LOOP = ts`
  for (const [x, y] of loader) {
    F.crossEntropy(model.forward(x), y).backward();
  }
`;

describe("this.setup(model, ...optimizers)", () => {
  it("goes right after the last optimizer; const becomes let", async () => {
    const out = await lite(
      script(
        ts`
          const model = new Net();
          const optimizer = new optim.Adam(model.parameters(), { lr: 1e-3 });
          const scheduler = new optim.lrScheduler.StepLR(optimizer, { stepSize: 1 });
          const loader = new data.DataLoader(dataset, { batchSize: 4 });
        ` + LOOP,
        { prelude: PRELUDE },
      ),
    );
    expect(runBody(out)).toMatch(
      /^let model = new Net\(\);\nlet optimizer = new optim\.Adam\(model\.parameters\(\), \{ lr: 1e-3 \}\);\n\[model, optimizer\] = this\.setup\(model, optimizer\);\nconst scheduler = /,
    );
  });

  it("one call per model for a GAN, after both optimizers", async () => {
    const { output, counts } = await toLite(
      script(
        ts`
          const g = new Net();
          const d = new Critic();
          const optG = new optim.Adam(g.parameters(), { lr: 1e-3 });
          const optD = new optim.Adam(d.parameters(), { lr: 1e-3 });
          const loader = new data.DataLoader(dataset, { batchSize: 4 });
          for (const [x] of loader) {
            d.forward(g.forward(x)).mean().backward();
            optD.step();
            g.forward(x).mean().backward();
            optG.step();
          }
        `,
        { prelude: PRELUDE },
      ),
    );
    expect(runBody(output)).toContain(ts`
      let g = new Net();
      let d = new Critic();
      let optG = new optim.Adam(g.parameters(), { lr: 1e-3 });
      let optD = new optim.Adam(d.parameters(), { lr: 1e-3 });
      [g, optG] = this.setup(g, optG);
      [d, optD] = this.setup(d, optD);
    `);
    expect(counts.setupCalls).toBe(2);
  });

  it("several optimizers of one model, parameter groups, a parameters variable", async () => {
    const out = await lite(
      script(
        ts`
          const model = new nn.Sequential(new nn.Linear(4, 4), new nn.Linear(4, 2));
          const params = model.parameters();
          const opt1 = new optim.SGD(params, { lr: 0.1 });
          const opt2 = new optim.Adam([{ params: model.parameters() }], { lr: 1e-3 });
          const loader = new data.DataLoader(dataset, { batchSize: 4 });
        ` + LOOP,
        { prelude: PRELUDE },
      ),
    );
    expect(out).toContain("[model, opt1, opt2] = this.setup(model, opt1, opt2);");
    expect(out).toContain("const params = model.parameters();");
  });

  it("a model without optimizer (restored for evaluation) is set up after its creation", async () => {
    const out = await lite(
      script(
        ts`
          const model = new Net();
          const optimizer = new optim.Adam(model.parameters());
          const loader = new data.DataLoader(dataset, { batchSize: 4 });
        ` +
          LOOP +
          ts`
            const restored = new Net().to("cuda");
            restored.loadStateDict(model.stateDict());
          `,
        { prelude: PRELUDE },
      ),
    );
    expect(out).toContain("    let restored = new Net();\n    [restored] = this.setup(restored);\n    restored.loadStateDict");
  });

  it("parts of a model are not set up on their own", async () => {
    const out = await lite(
      script(
        ts`
          const backbone = new Net();
          const head = new nn.Linear(2, 2);
          const model = new nn.Sequential(backbone, head);
          const optimizer = new optim.Adam(model.parameters());
          const probe = new Net();
          model.probe = probe;
          const loader = new data.DataLoader(dataset, { batchSize: 4 });
        ` + LOOP,
        { prelude: PRELUDE },
      ),
    );
    expect(out.match(/this\.setup\(/g)).toHaveLength(1);
    expect(out).toContain("[model, optimizer] = this.setup(model, optimizer);");
  });

  it("an optimizer over two models is set up with the first; the second alone", async () => {
    const out = await lite(
      script(
        ts`
          const encoder = new Net();
          const decoder = new Critic();
          const optimizer = new optim.Adam([...encoder.parameters(), ...decoder.parameters()]);
          const loader = new data.DataLoader(dataset, { batchSize: 4 });
          for (const [x] of loader) decoder.forward(encoder.forward(x)).mean().backward();
        `,
        { prelude: PRELUDE },
      ),
    );
    expect(out).toContain("[encoder, optimizer] = this.setup(encoder, optimizer);\n    [decoder] = this.setup(decoder);");
  });

  it("inserts `;` before the destructuring when the script has no semicolons", async () => {
    const out = await lite(
      script(
        ts`
          const model = new Net()
          const optimizer = new optim.Adam(model.parameters())
          const loader = new data.DataLoader(dataset, { batchSize: 4 })
          for (const [x, y] of loader) F.crossEntropy(model.forward(x), y).backward()
        `,
        { prelude: PRELUDE },
      ),
    );
    expect(out).toContain("let optimizer = new optim.Adam(model.parameters());\n    [model, optimizer] = this.setup(model, optimizer);");
  });

  it("TODOs when the optimizer's model is unknown or created outside run()", async () => {
    const { todos } = await toLite(
      script(
        ts`
          const optimizer = new optim.SGD(globalModel.parameters());
          const other = new optim.SGD(makeParams());
          for (const [x, y] of new data.DataLoader(dataset)) F.crossEntropy(globalModel.forward(x), y).backward();
        `,
        { prelude: `${PRELUDE}\nconst globalModel = new Net();\nfunction makeParams() { return globalModel.parameters(); }` },
      ),
    );
    expect(todos.map((t) => t.reason)).toEqual([
      "globalModel and its optimizer are created outside run(); call this.setup(globalModel, optimizer) in run()",
      "cannot tell which model this optimizer trains; call this.setup(model, optimizer) after creating both",
    ]);
  });
});

describe("this.setupDataloaders(...)", () => {
  it("wraps every DataLoader construction, inline ones included", async () => {
    const { output, counts } = await toLite(
      script(
        ts`
          const model = new Net();
          const optimizer = new optim.SGD(model.parameters());
          const train = new data.DataLoader(dataset, { batchSize: 4, shuffle: true });
          for (const [x, y] of train) F.crossEntropy(model.forward(x), y).backward();
          for (const [x] of new data.DataLoader(dataset)) model.forward(x);
        `,
        { prelude: PRELUDE },
      ),
    );
    expect(output).toContain("const train = this.setupDataloaders(\n      new data.DataLoader(dataset, { batchSize: 4, shuffle: true }),\n    );");
    expect(output).toContain("for (const [x] of this.setupDataloaders(new data.DataLoader(dataset)))");
    expect(counts.dataloadersWrapped).toBe(2);
  });

  it("a loader built in a helper makes the helper take the Lite instance", async () => {
    const out = await lite(
      script(
        ts`
          const model = new Net();
          const optimizer = new optim.SGD(model.parameters());
          for (const [x, y] of makeLoader(4)) F.crossEntropy(model.forward(x), y).backward();
        `,
        { prelude: `${PRELUDE}\nfunction makeLoader(batchSize: number) {\n  return new data.DataLoader(dataset, { batchSize });\n}` },
      ),
    );
    expect(out).toContain("function makeLoader(lite: LightningLite, batchSize: number) {\n  return lite.setupDataloaders(new data.DataLoader(dataset, { batchSize }));\n}");
    expect(out).toContain("makeLoader(this, 4)");
  });
});

describe("checkpoints and gradient clipping", () => {
  it("save/load become this.save/this.load (and lite.save in helpers); unused imports go", async () => {
    const out = await lite(
      script(
        ts`
          const model = new Net();
          const optimizer = new optim.SGD(model.parameters());
          model.loadStateDict(await load("ckpt.bin"));
          for (const [x, y] of new data.DataLoader(dataset)) F.crossEntropy(model.forward(x), y).backward();
          await save(model.stateDict(), "ckpt.bin");
          await checkpoint(model);
        `,
        {
          imports: "tf, nn, F, optim, data, save, load",
          prelude: `${PRELUDE}\nasync function checkpoint(model: Net) {\n  await save({ model: model.stateDict() }, "last.bin");\n}`,
        },
      ),
    );
    expect(out).toContain('model.loadStateDict(await this.load("ckpt.bin"));');
    expect(out).toContain('await this.save(model.stateDict(), "ckpt.bin");');
    expect(out).toContain('async function checkpoint(lite: LightningLite, model: Net) {\n  await lite.save({ model: model.stateDict() }, "last.bin");');
    expect(out).toContain("await checkpoint(this, model);");
    expect(out).toContain('import { tf, nn, F, optim, data } from "lightning-ts/torch";');
  });

  it("saveSync/loadSync become awaited this.save/this.load where the code can await", async () => {
    const { output, todos } = await toLite(
      script(
        ts`
          const model = new Net();
          const optimizer = new optim.SGD(model.parameters());
          model.loadStateDict(loadSync<{ model: Record<string, tf.Tensor> }>("ckpt.bin").model);
          for (const [x, y] of new data.DataLoader(dataset)) F.crossEntropy(model.forward(x), y).backward();
          saveSync(model.stateDict(), "ckpt.bin");
          [1].forEach(() => saveSync(model.stateDict(), "other.bin"));
        `,
        { imports: "tf, nn, F, optim, data, saveSync, loadSync", prelude: PRELUDE },
      ),
    );
    expect(output).toContain('model.loadStateDict(\n      (await this.load<{ model: Record<string, tf.Tensor> }>("ckpt.bin")).model,\n    );');
    expect(output).toContain('await this.save(model.stateDict(), "ckpt.bin");');
    expect(output).toContain('[1].forEach(() => saveSync(model.stateDict(), "other.bin"));');
    expect(todos.map((t) => t.reason)).toEqual([
      "use `await lite.save(...)` here (Lite's save is asynchronous): saveSync() is not in an async function",
    ]);
  });

  it("a local function named save is not torch's", async () => {
    const out = await lite(
      script(
        ts`
          const model = new Net();
          const optimizer = new optim.SGD(model.parameters());
          for (const [x, y] of new data.DataLoader(dataset)) F.crossEntropy(model.forward(x), y).backward();
          save(model);
        `,
        { prelude: `${PRELUDE}\nfunction save(m: Net) { return m.stateDict(); }` },
      ),
    );
    expect(out).toContain("    save(model);");
  });

  it("clipGradNorm / clipGradValue become this.clipGradients(model, optimizer, {...})", async () => {
    const { output, counts } = await toLite(
      script(
        ts`
          const model = new Net();
          const optimizer = new optim.SGD(model.parameters());
          const maxNorm = 1;
          for (const [x, y] of new data.DataLoader(dataset)) {
            F.crossEntropy(model.forward(x), y).backward();
            const norm = nn.utils.clipGradNorm(model.parameters(), maxNorm);
            nn.utils.clipGradValue(model.parameters(), args.epochs * 0.5);
            nn.utils.clipGradNorm(model.parameters(), 5, "inf");
            optimizer.step();
          }
        `,
        { prelude: PRELUDE },
      ),
    );
    expect(output).toContain("const norm = this.clipGradients(model, optimizer, { maxNorm });");
    expect(output).toContain("this.clipGradients(model, optimizer, { clipVal: args.epochs * 0.5 });");
    expect(output).toContain("this.clipGradients(model, optimizer, { maxNorm: 5, normType: Infinity });");
    expect(counts.clipGradientsRewritten).toBe(3);
  });

  it("clipping without a known optimizer stays, with a TODO", async () => {
    const { output, todos } = await toLite(
      script(
        ts`
          const model = new Net();
          const a = new optim.SGD(model.parameters());
          const b = new optim.SGD(model.parameters());
          for (const [x, y] of new data.DataLoader(dataset)) {
            F.crossEntropy(model.forward(x), y).backward();
            nn.utils.clipGradNorm(model.parameters(), 1.0, 2);
            nn.utils.clipGradNorm(model.parameters(), 1.0);
          }
        `,
        { prelude: PRELUDE },
      ),
    );
    expect(output).toContain("nn.utils.clipGradNorm(model.parameters(), 1.0, 2);");
    // One marker per statement.
    expect(todos.map((t) => t.reason)).toEqual(
      Array(2).fill("use this.clipGradients(model, optimizer, { maxNorm }) so that clipping sees unscaled gradients (could not tell the model and its optimizer)"),
    );
  });
});
