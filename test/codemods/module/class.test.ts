// `--to module`: the class (transforms/module/module-class.ts, models.ts), the Trainer at the
// call site (trainer.ts, call-site.ts), the imports (imports.ts), names and idempotence.
import { describe, expect, it } from "vitest";
import { migrate } from "../../../src/codemods/index";
import { mod, script, toModule, ts } from "../helpers";

const PRELUDE = "const dataset = new data.TensorDataset(tf.zeros([8, 4]), tf.zeros([8]));";
const BODY = ts`
  const device = cuda.isAvailable() ? "cuda" : "cpu";
  const model = new Net().to(device);
  const optimizer = new optim.SGD(model.parameters(), { lr: 0.1 });
  const loader = new data.DataLoader(dataset, { batchSize: 4 });
  for (let epoch = 0; epoch < args.epochs; epoch++) {
    for (const [x, y] of loader) {
      optimizer.zeroGrad();
      const loss = F.crossEntropy(model.forward(x.to(device)), y.to(device));
      loss.backward();
      optimizer.step();
    }
  }
`;

describe("class NetModule extends LightningModule (SPEC §4)", () => {
  it("the SPEC's shape: model field, constructor with main's parameters, forward, the steps and hooks, the Trainer at the call", async () => {
    const out = await mod(script(BODY, { prelude: PRELUDE }));
    expect(out).toBe(ts`
      import { LightningModule, Trainer } from "lightning-ts";
      import { tf, nn, F, optim, data } from "lightning-ts/torch";

      class Net extends nn.Module {
        fc = new nn.Linear(4, 2);
        override forward(x: tf.Tensor): tf.Tensor {
          return this.fc.forward(x);
        }
      }

      const dataset = new data.TensorDataset(tf.zeros([8, 4]), tf.zeros([8]));

      class NetModule extends LightningModule {
        model = new Net();

        constructor(private readonly args: { epochs: number }) {
          super();
        }

        override forward(x: tf.Tensor): tf.Tensor {
          return this.model.forward(x);
        }

        override trainingStep([x, y]: [tf.Tensor, tf.Tensor], batchIdx: number) {
          const loss = F.crossEntropy(this.forward(x), y);
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

  it("the summary says what moved where; device code is stripped and counted", async () => {
    const { notes, counts, todos } = await toModule(script(BODY, { prelude: PRELUDE }));
    expect(todos).toEqual([]);
    expect(notes).toEqual([
      "model (line 14) → field `model` of NetModule",
      "batch loop (lines 18–23) → trainingStep(), returning loss (the Trainer runs zeroGrad, backward and step)",
      "optimizer (line 15) → configureOptimizers()",
      "epoch loop (line 17) → new Trainer({ maxEpochs })",
      "DataLoader loader (line 16) → trainDataloader()",
      "main(...) call (line 27) → new Trainer(...).fit(...)",
      "import of cuda from lightning-ts/torch removed (no longer used)",
    ]);
    expect(counts).toMatchObject({ deviceMovesStripped: 3, deviceVariablesRemoved: 1, backwardRewritten: 1, importsAdded: 2, importsRemoved: 1 });
  });

  it("a model built from main's arguments is assigned in the constructor (field initializers run before parameter properties)", async () => {
    const out = await mod(
      script(BODY.replace("new Net().to(device)", "new nn.Linear(4, args.hidden).to(device)"), { prelude: PRELUDE, args: "args: { epochs: number; hidden: number }" }).replace(
        "main({ epochs: 1 });",
        "main({ epochs: 1, hidden: 2 });",
      ),
    );
    // nn.Linear's forward is not the script's: the module's forward takes one tensor.
    expect(out).toBe(ts`
      import { LightningModule, Trainer } from "lightning-ts";
      import { tf, nn, F, optim, data } from "lightning-ts/torch";

      class Net extends nn.Module {
        fc = new nn.Linear(4, 2);
        override forward(x: tf.Tensor): tf.Tensor {
          return this.fc.forward(x);
        }
      }

      const dataset = new data.TensorDataset(tf.zeros([8, 4]), tf.zeros([8]));

      class LitModule extends LightningModule {
        readonly model: nn.Linear;

        constructor(private readonly args: { epochs: number; hidden: number }) {
          super();
          this.model = new nn.Linear(4, this.args.hidden);
        }

        override forward(x: tf.Tensor): tf.Tensor {
          return this.model.forward(x);
        }

        override trainingStep([x, y]: [tf.Tensor, tf.Tensor], batchIdx: number) {
          const loss = F.crossEntropy(this.forward(x), y);
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

      await new Trainer({ maxEpochs: 1 }).fit(
        new LitModule({ epochs: 1, hidden: 2 }),
      );
    `);
  });

  it("forward copies the model class's signature (parameters, return type) and calls the model", async () => {
    const src = script(BODY, { prelude: PRELUDE }).replace(
      "  override forward(x: tf.Tensor): tf.Tensor {\n    return this.fc.forward(x);\n  }",
      "  override forward(x: tf.Tensor, scale = 1): [tf.Tensor, tf.Tensor] {\n    const y = this.fc.forward(x).mul(scale);\n    return [y, y];\n  }",
    ).replace("F.crossEntropy(model.forward(x.to(device)), y.to(device))", "F.crossEntropy(model.forward(x.to(device))[0], y.to(device))");
    const out = await mod(src);
    expect(out).toBe(ts`
      import { LightningModule, Trainer } from "lightning-ts";
      import { tf, nn, F, optim, data } from "lightning-ts/torch";

      class Net extends nn.Module {
        fc = new nn.Linear(4, 2);
        override forward(x: tf.Tensor, scale = 1): [tf.Tensor, tf.Tensor] {
          const y = this.fc.forward(x).mul(scale);
          return [y, y];
        }
      }

      const dataset = new data.TensorDataset(tf.zeros([8, 4]), tf.zeros([8]));

      class NetModule extends LightningModule {
        model = new Net();

        constructor(private readonly args: { epochs: number }) {
          super();
        }

        override forward(x: tf.Tensor, scale = 1): [tf.Tensor, tf.Tensor] {
          return this.model.forward(x, scale);
        }

        override trainingStep([x, y]: [tf.Tensor, tf.Tensor], batchIdx: number) {
          const loss = F.crossEntropy(this.forward(x)[0], y);
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

  it("names: --class-name, <Model>Module made unique, LitModule for several models; invalid or taken names fail", async () => {
    const named = await mod(script(BODY, { prelude: PRELUDE }), { className: "Classifier" });
    expect(named).toBe(ts`
      import { LightningModule, Trainer } from "lightning-ts";
      import { tf, nn, F, optim, data } from "lightning-ts/torch";

      class Net extends nn.Module {
        fc = new nn.Linear(4, 2);
        override forward(x: tf.Tensor): tf.Tensor {
          return this.fc.forward(x);
        }
      }

      const dataset = new data.TensorDataset(tf.zeros([8, 4]), tf.zeros([8]));

      class Classifier extends LightningModule {
        model = new Net();

        constructor(private readonly args: { epochs: number }) {
          super();
        }

        override forward(x: tf.Tensor): tf.Tensor {
          return this.model.forward(x);
        }

        override trainingStep([x, y]: [tf.Tensor, tf.Tensor], batchIdx: number) {
          const loss = F.crossEntropy(this.forward(x), y);
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

      await new Trainer({ maxEpochs: 1 }).fit(new Classifier({ epochs: 1 }));
    `);
    const unique = await mod(script(BODY, { prelude: `${PRELUDE}\nclass NetModule {}` }));
    expect(unique).toBe(ts`
      import { LightningModule, Trainer } from "lightning-ts";
      import { tf, nn, F, optim, data } from "lightning-ts/torch";

      class Net extends nn.Module {
        fc = new nn.Linear(4, 2);
        override forward(x: tf.Tensor): tf.Tensor {
          return this.fc.forward(x);
        }
      }

      const dataset = new data.TensorDataset(tf.zeros([8, 4]), tf.zeros([8]));
      class NetModule {}

      class NetModule2 extends LightningModule {
        model = new Net();

        constructor(private readonly args: { epochs: number }) {
          super();
        }

        override forward(x: tf.Tensor): tf.Tensor {
          return this.model.forward(x);
        }

        override trainingStep([x, y]: [tf.Tensor, tf.Tensor], batchIdx: number) {
          const loss = F.crossEntropy(this.forward(x), y);
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

      await new Trainer({ maxEpochs: 1 }).fit(new NetModule2({ epochs: 1 }));
    `);
    expect(await migrate(script(BODY, { prelude: PRELUDE }), { to: "module", className: "Net" })).toMatchObject({
      status: "failed",
      reason: "--class-name 'Net' is already declared in this file; choose another name",
    });
    expect(await migrate(script(BODY, { prelude: PRELUDE }), { to: "module", className: "class" })).toMatchObject({
      status: "failed",
      reason: "--class-name 'class' is not a valid class name",
    });
  });

  it("export, JSDoc and comments above main stay with the class", async () => {
    const src = script(BODY, { prelude: PRELUDE }).replace("async function main(", "/** Trains the net. */\nexport async function main(");
    const out = await mod(src);
    expect(out).toBe(ts`
      import { LightningModule, Trainer } from "lightning-ts";
      import { tf, nn, F, optim, data } from "lightning-ts/torch";

      class Net extends nn.Module {
        fc = new nn.Linear(4, 2);
        override forward(x: tf.Tensor): tf.Tensor {
          return this.fc.forward(x);
        }
      }

      const dataset = new data.TensorDataset(tf.zeros([8, 4]), tf.zeros([8]));

      /** Trains the net. */
      export class NetModule extends LightningModule {
        model = new Net();

        constructor(private readonly args: { epochs: number }) {
          super();
        }

        override forward(x: tf.Tensor): tf.Tensor {
          return this.model.forward(x);
        }

        override trainingStep([x, y]: [tf.Tensor, tf.Tensor], batchIdx: number) {
          const loss = F.crossEntropy(this.forward(x), y);
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

  it("main(...).catch(...): the fit promise takes the call's place; an arrow main works the same", async () => {
    const src = script(BODY, { prelude: PRELUDE })
      .replace("async function main(args: { epochs: number }) {", "const train = async (args: { epochs: number }) => {")
      .replace(/\n}\n\nmain\(\{ epochs: 1 \}\);/, "\n};\n\ntrain({ epochs: 1 }).catch((e) => console.error(e));");
    const out = await mod(src);
    expect(out).toBe(ts`
      import { LightningModule, Trainer } from "lightning-ts";
      import { tf, nn, F, optim, data } from "lightning-ts/torch";

      class Net extends nn.Module {
        fc = new nn.Linear(4, 2);
        override forward(x: tf.Tensor): tf.Tensor {
          return this.fc.forward(x);
        }
      }

      const dataset = new data.TensorDataset(tf.zeros([8, 4]), tf.zeros([8]));

      class NetModule extends LightningModule {
        model = new Net();

        constructor(private readonly args: { epochs: number }) {
          super();
        }

        override forward(x: tf.Tensor): tf.Tensor {
          return this.model.forward(x);
        }

        override trainingStep([x, y]: [tf.Tensor, tf.Tensor], batchIdx: number) {
          const loss = F.crossEntropy(this.forward(x), y);
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

      new Trainer({ maxEpochs: 1 })
        .fit(new NetModule({ epochs: 1 }))
        .catch((e) => console.error(e));
    `);
    expect(out).not.toContain("const train");
  });

  it("arguments the codemod cannot read are kept in a variable named like the parameter", async () => {
    const src = script(BODY, { prelude: PRELUDE }).replace("main({ epochs: 1 });", "main({ epochs: Number(process.env.EPOCHS ?? 3) });");
    const out = await mod(src);
    expect(out).toBe(ts`
      import { LightningModule, Trainer } from "lightning-ts";
      import { tf, nn, F, optim, data } from "lightning-ts/torch";

      class Net extends nn.Module {
        fc = new nn.Linear(4, 2);
        override forward(x: tf.Tensor): tf.Tensor {
          return this.fc.forward(x);
        }
      }

      const dataset = new data.TensorDataset(tf.zeros([8, 4]), tf.zeros([8]));

      class NetModule extends LightningModule {
        model = new Net();

        constructor(private readonly args: { epochs: number }) {
          super();
        }

        override forward(x: tf.Tensor): tf.Tensor {
          return this.model.forward(x);
        }

        override trainingStep([x, y]: [tf.Tensor, tf.Tensor], batchIdx: number) {
          const loss = F.crossEntropy(this.forward(x), y);
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

      const args = { epochs: Number(process.env.EPOCHS ?? 3) };
      await new Trainer({ maxEpochs: args.epochs }).fit(new NetModule(args));
    `);
  });

  it("main(config): flags read the variable; several calls each get their own Trainer (in a block when they declare names)", async () => {
    const byName = await mod(script(BODY, { prelude: PRELUDE }).replace("main({ epochs: 1 });", "const config = { epochs: 3 };\nmain(config);"));
    expect(byName).toBe(ts`
      import { LightningModule, Trainer } from "lightning-ts";
      import { tf, nn, F, optim, data } from "lightning-ts/torch";

      class Net extends nn.Module {
        fc = new nn.Linear(4, 2);
        override forward(x: tf.Tensor): tf.Tensor {
          return this.fc.forward(x);
        }
      }

      const dataset = new data.TensorDataset(tf.zeros([8, 4]), tf.zeros([8]));

      class NetModule extends LightningModule {
        model = new Net();

        constructor(private readonly args: { epochs: number }) {
          super();
        }

        override forward(x: tf.Tensor): tf.Tensor {
          return this.model.forward(x);
        }

        override trainingStep([x, y]: [tf.Tensor, tf.Tensor], batchIdx: number) {
          const loss = F.crossEntropy(this.forward(x), y);
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

      const config = { epochs: 3 };
      await new Trainer({ maxEpochs: config.epochs }).fit(new NetModule(config));
    `);
    const twice = await mod(
      script(BODY, { prelude: PRELUDE }).replace("main({ epochs: 1 });", "await main({ epochs: 1 });\nawait main({ epochs: Number(process.argv[2]) });"),
    );
    expect(twice).toBe(ts`
      import { LightningModule, Trainer } from "lightning-ts";
      import { tf, nn, F, optim, data } from "lightning-ts/torch";

      class Net extends nn.Module {
        fc = new nn.Linear(4, 2);
        override forward(x: tf.Tensor): tf.Tensor {
          return this.fc.forward(x);
        }
      }

      const dataset = new data.TensorDataset(tf.zeros([8, 4]), tf.zeros([8]));

      class NetModule extends LightningModule {
        model = new Net();

        constructor(private readonly args: { epochs: number }) {
          super();
        }

        override forward(x: tf.Tensor): tf.Tensor {
          return this.model.forward(x);
        }

        override trainingStep([x, y]: [tf.Tensor, tf.Tensor], batchIdx: number) {
          const loss = F.crossEntropy(this.forward(x), y);
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
      {
        const args = { epochs: Number(process.argv[2]) };
        await new Trainer({ maxEpochs: args.epochs }).fit(new NetModule(args));
      }
    `);
  });

  it("top-level training code (no main) becomes the class and the Trainer in its place", async () => {
    const src = ts`
      import { tf, nn, F, optim, data, manualSeed } from "lightning-ts/torch";

      class Net extends nn.Module {
        fc = new nn.Linear(4, 2);
        override forward(x: tf.Tensor): tf.Tensor {
          return this.fc.forward(x);
        }
      }

      const EPOCHS = 2;
      manualSeed(0);
      const model = new Net();
      const optimizer = new optim.Adam(model.parameters(), { lr: 1e-3 });
      const loader = new data.DataLoader(new data.TensorDataset(tf.zeros([8, 4]), tf.zeros([8], "int32")), { batchSize: 4 });
      for (let epoch = 0; epoch < EPOCHS; epoch++) {
        for (const [x, y] of loader) {
          optimizer.zeroGrad();
          F.crossEntropy(model.forward(x), y).backward();
          optimizer.step();
        }
      }
    `;
    const out = await mod(src);
    expect(out).toBe(ts`
      import { LightningModule, Trainer } from "lightning-ts";
      import { tf, nn, F, optim, data, manualSeed } from "lightning-ts/torch";

      class Net extends nn.Module {
        fc = new nn.Linear(4, 2);
        override forward(x: tf.Tensor): tf.Tensor {
          return this.fc.forward(x);
        }
      }

      const EPOCHS = 2;
      manualSeed(0);

      class NetModule extends LightningModule {
        model = new Net();

        override forward(x: tf.Tensor): tf.Tensor {
          return this.model.forward(x);
        }

        override trainingStep([x, y]: [tf.Tensor, tf.Tensor], batchIdx: number) {
          const loss = F.crossEntropy(this.forward(x), y);
          this.log("train_loss", loss);
          return loss;
        }

        override configureOptimizers() {
          return new optim.Adam(this.parameters(), { lr: 1e-3 });
        }

        override trainDataloader() {
          return new data.DataLoader(
            new data.TensorDataset(tf.zeros([8, 4]), tf.zeros([8], "int32")),
            { batchSize: 4 },
          );
        }
      }

      await new Trainer({ maxEpochs: EPOCHS }).fit(new NetModule());
    `);
    expect(out).not.toContain("constructor(");
  });

  it("imports: merged into an existing lightning-ts import; relative imports of the repo's layers; tf added for parameter types", async () => {
    const merged = await mod(script(BODY, { prelude: PRELUDE }).replace('import {', 'import { seedEverything } from "lightning-ts";\nimport {'));
    expect(merged).toBe(ts`
      import { seedEverything, LightningModule, Trainer } from "lightning-ts";
      import { tf, nn, F, optim, data } from "lightning-ts/torch";

      class Net extends nn.Module {
        fc = new nn.Linear(4, 2);
        override forward(x: tf.Tensor): tf.Tensor {
          return this.fc.forward(x);
        }
      }

      const dataset = new data.TensorDataset(tf.zeros([8, 4]), tf.zeros([8]));

      class NetModule extends LightningModule {
        model = new Net();

        constructor(private readonly args: { epochs: number }) {
          super();
        }

        override forward(x: tf.Tensor): tf.Tensor {
          return this.model.forward(x);
        }

        override trainingStep([x, y]: [tf.Tensor, tf.Tensor], batchIdx: number) {
          const loss = F.crossEntropy(this.forward(x), y);
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
    const relative = await mod(script(BODY, { prelude: PRELUDE }).replace('"lightning-ts/torch"', '"../src/torch/index"'));
    expect(relative).toBe(ts`
      import { LightningModule, Trainer } from "../src/runtime/index";
      import { tf, nn, F, optim, data } from "../src/torch/index";

      class Net extends nn.Module {
        fc = new nn.Linear(4, 2);
        override forward(x: tf.Tensor): tf.Tensor {
          return this.fc.forward(x);
        }
      }

      const dataset = new data.TensorDataset(tf.zeros([8, 4]), tf.zeros([8]));

      class NetModule extends LightningModule {
        model = new Net();

        constructor(private readonly args: { epochs: number }) {
          super();
        }

        override forward(x: tf.Tensor): tf.Tensor {
          return this.model.forward(x);
        }

        override trainingStep([x, y]: [tf.Tensor, tf.Tensor], batchIdx: number) {
          const loss = F.crossEntropy(this.forward(x), y);
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
    // A script that only names tf through nn's types gets tf for the step's parameter types.
    const noTf = ts`
      import { nn, F, optim, data } from "lightning-ts/torch";
      declare const dataset: data.Dataset<any>;
      const model = new nn.Linear(4, 2);
      const optimizer = new optim.SGD(model.parameters(), { lr: 0.1 });
      const loader = new data.DataLoader(dataset, { batchSize: 4 });
      for (const [x, y] of loader) {
        optimizer.zeroGrad();
        F.crossEntropy(model.forward(x), y).backward();
        optimizer.step();
      }
    `;
    const out = await mod(noTf);
    expect(out).toBe(ts`
      import { LightningModule, Trainer } from "lightning-ts";
      import { tf, nn, F, optim, data } from "lightning-ts/torch";
      declare const dataset: data.Dataset<any>;

      class LitModule extends LightningModule {
        model = new nn.Linear(4, 2);

        override forward(x: tf.Tensor): tf.Tensor {
          return this.model.forward(x);
        }

        override trainingStep([x, y]: [tf.Tensor, tf.Tensor], batchIdx: number) {
          const loss = F.crossEntropy(this.forward(x), y);
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

      await new Trainer({ maxEpochs: 1 }).fit(new LitModule());
    `);
  });

  it("is idempotent: a module script is left alone", async () => {
    const out = await mod(script(BODY, { prelude: PRELUDE }));
    expect(await migrate(out, { to: "module" })).toEqual({ status: "unchanged", reason: "already a LightningModule script: nothing to do" });
  });
});
