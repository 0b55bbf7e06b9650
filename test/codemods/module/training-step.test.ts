// `--to module`: the batch loop → trainingStep (transforms/module/training-step.ts,
// batch-index.ts), and manual optimisation when the Trainer's automatic loop cannot express it
// (manual-optimization.ts).
import { describe, expect, it } from "vitest";
import { mod, script, toModule, ts } from "../helpers";

const PRELUDE = "const dataset = new data.TensorDataset(tf.zeros([8, 4]), tf.zeros([8]));\nclass Critic extends Net {}";
const HEAD = ts`
  const model = new Net();
  const optimizer = new optim.SGD(model.parameters(), { lr: 0.1 });
  const loader = new data.DataLoader(dataset, { batchSize: 4 });
`;
const epochs = (loopBody: string, epochBody = "") =>
  HEAD +
  `for (let epoch = 0; epoch < args.epochs; epoch++) {\n${epochBody}  for (const [x, y] of loader) {\n${loopBody
    .trimEnd()
    .split("\n")
    .map((l) => `    ${l}`)
    .join("\n")}\n  }\n}\n`;

describe("trainingStep (automatic optimisation)", () => {
  it("the loop body minus zeroGrad/backward/step; the loss is logged where backward was and returned", async () => {
    const out = await mod(
      script(
        epochs(ts`
          optimizer.zeroGrad();
          const out = model.forward(x);
          const loss = F.crossEntropy(out, y);
          loss.backward();
          optimizer.step();
          const acc = out.argMax(1).equal(y).mean().item(); // per batch
          void acc;
        `),
        { prelude: PRELUDE },
      ),
    );
    expect(out).toBe(ts`
      import { LightningModule, Trainer } from "lightning-ts";
      import { tf, nn, F, optim, data, cuda } from "lightning-ts/torch";

      class Net extends nn.Module {
        fc = new nn.Linear(4, 2);
        override forward(x: tf.Tensor): tf.Tensor {
          return this.fc.forward(x);
        }
      }

      const dataset = new data.TensorDataset(tf.zeros([8, 4]), tf.zeros([8]));
      class Critic extends Net {}

      class NetModule extends LightningModule {
        model = new Net();

        constructor(private readonly args: { epochs: number }) {
          super();
        }

        override forward(x: tf.Tensor): tf.Tensor {
          return this.model.forward(x);
        }

        override trainingStep([x, y]: [tf.Tensor, tf.Tensor], batchIdx: number) {
          const out = this.forward(x);
          const loss = F.crossEntropy(out, y);
          this.log("train_loss", loss);
          const acc = out.argMax(1).equal(y).mean().item(); // per batch
          void acc;
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

  it("a loss written inline gets a name; backward(loss) (the function form) and zeroGrad after step work too", async () => {
    const inline = await mod(script(epochs("F.mseLoss(model.forward(x), y).backward();\noptimizer.step();\noptimizer.zeroGrad();"), { prelude: PRELUDE }));
    expect(inline).toBe(ts`
      import { LightningModule, Trainer } from "lightning-ts";
      import { tf, nn, F, optim, data, cuda } from "lightning-ts/torch";

      class Net extends nn.Module {
        fc = new nn.Linear(4, 2);
        override forward(x: tf.Tensor): tf.Tensor {
          return this.fc.forward(x);
        }
      }

      const dataset = new data.TensorDataset(tf.zeros([8, 4]), tf.zeros([8]));
      class Critic extends Net {}

      class NetModule extends LightningModule {
        model = new Net();

        constructor(private readonly args: { epochs: number }) {
          super();
        }

        override forward(x: tf.Tensor): tf.Tensor {
          return this.model.forward(x);
        }

        override trainingStep([x, y]: [tf.Tensor, tf.Tensor], batchIdx: number) {
          const loss = F.mseLoss(this.forward(x), y);
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
    const fn = await mod(
      script(epochs("model.zeroGrad();\nconst l = F.mseLoss(model.forward(x), y);\nbackward(l);\noptimizer.step();"), {
        prelude: PRELUDE,
        imports: "tf, nn, F, optim, data, backward",
      }),
    );
    expect(fn).toBe(ts`
      import { LightningModule, Trainer } from "lightning-ts";
      import { tf, nn, F, optim, data } from "lightning-ts/torch";

      class Net extends nn.Module {
        fc = new nn.Linear(4, 2);
        override forward(x: tf.Tensor): tf.Tensor {
          return this.fc.forward(x);
        }
      }

      const dataset = new data.TensorDataset(tf.zeros([8, 4]), tf.zeros([8]));
      class Critic extends Net {}

      class NetModule extends LightningModule {
        model = new Net();

        constructor(private readonly args: { epochs: number }) {
          super();
        }

        override forward(x: tf.Tensor): tf.Tensor {
          return this.model.forward(x);
        }

        override trainingStep([x, y]: [tf.Tensor, tf.Tensor], batchIdx: number) {
          const l = F.mseLoss(this.forward(x), y);
          this.log("train_loss", l);
          return l;
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

  it("a batch counter kept by hand becomes the batchIdx parameter; one read after the loop stays a field", async () => {
    const body = ts`
      optimizer.zeroGrad();
      const loss = F.crossEntropy(model.forward(x), y);
      loss.backward();
      optimizer.step();
      if (i % 10 === 0) console.log(i, loss.item());
      i++;
    `;
    const out = await mod(script(epochs(body, "  let i = 0;\n"), { prelude: PRELUDE }));
    expect(out).toBe(ts`
      import { LightningModule, Trainer } from "lightning-ts";
      import { tf, nn, F, optim, data, cuda } from "lightning-ts/torch";

      class Net extends nn.Module {
        fc = new nn.Linear(4, 2);
        override forward(x: tf.Tensor): tf.Tensor {
          return this.fc.forward(x);
        }
      }

      const dataset = new data.TensorDataset(tf.zeros([8, 4]), tf.zeros([8]));
      class Critic extends Net {}

      class NetModule extends LightningModule {
        model = new Net();

        constructor(private readonly args: { epochs: number }) {
          super();
        }

        override forward(x: tf.Tensor): tf.Tensor {
          return this.model.forward(x);
        }

        override trainingStep([x, y]: [tf.Tensor, tf.Tensor], i: number) {
          const loss = F.crossEntropy(this.forward(x), y);
          this.log("train_loss", loss);
          if (i % 10 === 0) this.print(i, loss.item());
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
    const counted = await mod(
      script(epochs(body.replace("if (i % 10 === 0) console.log(i, loss.item());\n", ""), "  let i = 0;\n").replace(/  }\n}\n$/, "  }\n  console.log(`${i} batches`);\n}\n"), {
        prelude: PRELUDE,
      }),
    );
    expect(counted).toBe(ts`
      import { LightningModule, Trainer } from "lightning-ts";
      import { tf, nn, F, optim, data, cuda } from "lightning-ts/torch";

      class Net extends nn.Module {
        fc = new nn.Linear(4, 2);
        override forward(x: tf.Tensor): tf.Tensor {
          return this.fc.forward(x);
        }
      }

      const dataset = new data.TensorDataset(tf.zeros([8, 4]), tf.zeros([8]));
      class Critic extends Net {}

      class NetModule extends LightningModule {
        model = new Net();
        private i = 0;

        constructor(private readonly args: { epochs: number }) {
          super();
        }

        override forward(x: tf.Tensor): tf.Tensor {
          return this.model.forward(x);
        }

        override onTrainEpochStart() {
          this.i = 0;
        }

        override trainingStep([x, y]: [tf.Tensor, tf.Tensor], batchIdx: number) {
          const loss = F.crossEntropy(this.forward(x), y);
          this.log("train_loss", loss, { onEpoch: true, progBar: true });
          this.i++;
          return loss;
        }

        override onTrainEpochEnd() {
          this.print(\`\${this.i} batches\`);
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

  it("the batch index parameter is named so as not to shadow the step's own names", async () => {
    const out = await mod(
      script(epochs("const batchIdx = x.shape[0];\noptimizer.zeroGrad();\nconst loss = F.crossEntropy(model.forward(x), y).mul(batchIdx);\nloss.backward();\noptimizer.step();"), { prelude: PRELUDE }),
    );
    expect(out).toBe(ts`
      import { LightningModule, Trainer } from "lightning-ts";
      import { tf, nn, F, optim, data, cuda } from "lightning-ts/torch";

      class Net extends nn.Module {
        fc = new nn.Linear(4, 2);
        override forward(x: tf.Tensor): tf.Tensor {
          return this.fc.forward(x);
        }
      }

      const dataset = new data.TensorDataset(tf.zeros([8, 4]), tf.zeros([8]));
      class Critic extends Net {}

      class NetModule extends LightningModule {
        model = new Net();

        constructor(private readonly args: { epochs: number }) {
          super();
        }

        override forward(x: tf.Tensor): tf.Tensor {
          return this.model.forward(x);
        }

        override trainingStep([x, y]: [tf.Tensor, tf.Tensor], batchIdx2: number) {
          const batchIdx = x.shape[0];
          const loss = F.crossEntropy(this.forward(x), y).mul(batchIdx);
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

  it("`continue` before backward skips the batch: trainingStep returns nothing", async () => {
    const out = await mod(
      script(epochs("if (x.shape[0] < 4) continue;\noptimizer.zeroGrad();\nconst loss = F.crossEntropy(model.forward(x), y);\nloss.backward();\noptimizer.step();"), {
        prelude: PRELUDE,
      }),
    );
    expect(out).toBe(ts`
      import { LightningModule, Trainer } from "lightning-ts";
      import { tf, nn, F, optim, data, cuda } from "lightning-ts/torch";

      class Net extends nn.Module {
        fc = new nn.Linear(4, 2);
        override forward(x: tf.Tensor): tf.Tensor {
          return this.fc.forward(x);
        }
      }

      const dataset = new data.TensorDataset(tf.zeros([8, 4]), tf.zeros([8]));
      class Critic extends Net {}

      class NetModule extends LightningModule {
        model = new Net();

        constructor(private readonly args: { epochs: number }) {
          super();
        }

        override forward(x: tf.Tensor): tf.Tensor {
          return this.model.forward(x);
        }

        override trainingStep([x, y]: [tf.Tensor, tf.Tensor], batchIdx: number) {
          if (x.shape[0] < 4) return;
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

  it("per-epoch reports log the loss per epoch too, in the progress bar", async () => {
    const out = await mod(
      script(
        epochs("optimizer.zeroGrad();\nconst loss = F.crossEntropy(model.forward(x), y);\nloss.backward();\noptimizer.step();\ntotal += loss.item();", "  let total = 0;\n").replace(
          /  }\n}\n$/,
          "  }\n  console.log(`epoch ${epoch + 1}: ${total}`);\n}\n",
        ),
        { prelude: PRELUDE },
      ),
    );
    expect(out).toBe(ts`
      import { LightningModule, Trainer } from "lightning-ts";
      import { tf, nn, F, optim, data, cuda } from "lightning-ts/torch";

      class Net extends nn.Module {
        fc = new nn.Linear(4, 2);
        override forward(x: tf.Tensor): tf.Tensor {
          return this.fc.forward(x);
        }
      }

      const dataset = new data.TensorDataset(tf.zeros([8, 4]), tf.zeros([8]));
      class Critic extends Net {}

      class NetModule extends LightningModule {
        model = new Net();
        private total = 0;

        constructor(private readonly args: { epochs: number }) {
          super();
        }

        override forward(x: tf.Tensor): tf.Tensor {
          return this.model.forward(x);
        }

        override onTrainEpochStart() {
          this.total = 0;
        }

        override trainingStep([x, y]: [tf.Tensor, tf.Tensor], batchIdx: number) {
          const loss = F.crossEntropy(this.forward(x), y);
          this.log("train_loss", loss, { onEpoch: true, progBar: true });
          this.total += loss.item();
          return loss;
        }

        override onTrainEpochEnd() {
          this.print(\`epoch \${this.currentEpoch + 1}: \${this.total}\`);
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
});

describe("manual optimisation", () => {
  it("a GAN's two optimizers: automaticOptimization = false, this.optimizers(), manualBackward, the script's order kept", async () => {
    const gan = ts`
      const g = new Net();
      const d = new Critic();
      const optG = new optim.Adam(g.parameters(), { lr: 1e-3 });
      const optD = new optim.Adam(d.parameters(), { lr: 1e-3 });
      const loader = new data.DataLoader(dataset, { batchSize: 4 });
      for (let epoch = 0; epoch < args.epochs; epoch++) {
        for (const [x] of loader) {
          optD.zeroGrad();
          const lossD = d.forward(g.forward(x).detach()).mean();
          lossD.backward();
          optD.step();
          optG.zeroGrad();
          const lossG = d.forward(g.forward(x)).mean().neg();
          lossG.backward();
          optG.step();
        }
      }
    `;
    const { output, notes } = await toModule(script(gan, { prelude: PRELUDE }));
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
      class Critic extends Net {}

      class LitModule extends LightningModule {
        g = new Net();
        d = new Critic();
        override automaticOptimization = false;

        constructor(private readonly args: { epochs: number }) {
          super();
        }

        override trainingStep([x]: [tf.Tensor], batchIdx: number) {
          const [optG, optD] = this.optimizers();
          optD.zeroGrad();
          const lossD = this.d.forward(this.g.forward(x).detach()).mean();
          this.manualBackward(lossD);
          this.log("loss_d", lossD);
          optD.step();
          optG.zeroGrad();
          const lossG = this.d.forward(this.g.forward(x)).mean().neg();
          this.manualBackward(lossG);
          this.log("loss_g", lossG);
          optG.step();
        }

        override configureOptimizers() {
          const optG = new optim.Adam(this.g.parameters(), { lr: 1e-3 });
          const optD = new optim.Adam(this.d.parameters(), { lr: 1e-3 });
          return [optG, optD];
        }

        override trainDataloader() {
          return new data.DataLoader(dataset, { batchSize: 4 });
        }
      }

      await new Trainer({ maxEpochs: 1 }).fit(new LitModule({ epochs: 1 }));
    `);
    expect(notes).toContain(
      "batch loop (lines 20–29) → trainingStep() with manual optimisation (2 optimizers): backward → this.manualBackward, optimizers from this.optimizers()",
    );
  });

  it("one optimizer used in a way the Trainer does not (two backward passes, a step under another condition): manual, same order", async () => {
    const twice = await toModule(
      script(epochs("optimizer.zeroGrad();\nF.mseLoss(model.forward(x), y).backward();\nF.l1Loss(model.forward(x), y).backward();\noptimizer.step();"), { prelude: PRELUDE }),
    );
    expect(twice.output).toBe(ts`
      import { LightningModule, Trainer } from "lightning-ts";
      import { tf, nn, F, optim, data, cuda } from "lightning-ts/torch";

      class Net extends nn.Module {
        fc = new nn.Linear(4, 2);
        override forward(x: tf.Tensor): tf.Tensor {
          return this.fc.forward(x);
        }
      }

      const dataset = new data.TensorDataset(tf.zeros([8, 4]), tf.zeros([8]));
      class Critic extends Net {}

      class NetModule extends LightningModule {
        model = new Net();
        override automaticOptimization = false;

        constructor(private readonly args: { epochs: number }) {
          super();
        }

        override forward(x: tf.Tensor): tf.Tensor {
          return this.model.forward(x);
        }

        override trainingStep([x, y]: [tf.Tensor, tf.Tensor], batchIdx: number) {
          const optimizer = this.optimizers();
          optimizer.zeroGrad();
          this.manualBackward(F.mseLoss(this.forward(x), y));
          this.manualBackward(F.l1Loss(this.forward(x), y));
          optimizer.step();
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
    expect(twice.notes.join("\n")).toContain("manual optimisation (more than one backward() per batch)");
    const conditional = await toModule(
      script(epochs("optimizer.zeroGrad();\nconst loss = F.mseLoss(model.forward(x), y);\nloss.backward();\nif (loss.item() > 0.1) optimizer.step();"), { prelude: PRELUDE }),
    );
    expect(conditional.output).toBe(ts`
      import { LightningModule, Trainer } from "lightning-ts";
      import { tf, nn, F, optim, data, cuda } from "lightning-ts/torch";

      class Net extends nn.Module {
        fc = new nn.Linear(4, 2);
        override forward(x: tf.Tensor): tf.Tensor {
          return this.fc.forward(x);
        }
      }

      const dataset = new data.TensorDataset(tf.zeros([8, 4]), tf.zeros([8]));
      class Critic extends Net {}

      class NetModule extends LightningModule {
        model = new Net();
        override automaticOptimization = false;

        constructor(private readonly args: { epochs: number }) {
          super();
        }

        override forward(x: tf.Tensor): tf.Tensor {
          return this.model.forward(x);
        }

        override trainingStep([x, y]: [tf.Tensor, tf.Tensor], batchIdx: number) {
          const optimizer = this.optimizers();
          optimizer.zeroGrad();
          const loss = F.mseLoss(this.forward(x), y);
          this.manualBackward(loss);
          this.log("train_loss", loss);
          if (loss.item() > 0.1) optimizer.step();
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
    const late = await toModule(
      script(epochs("optimizer.zeroGrad();\nconst loss = F.mseLoss(model.forward(x), y);\nloss.backward();\nif (loss.item() > 9) continue;\noptimizer.step();"), { prelude: PRELUDE }),
    );
    expect(late.output).toBe(ts`
      import { LightningModule, Trainer } from "lightning-ts";
      import { tf, nn, F, optim, data, cuda } from "lightning-ts/torch";

      class Net extends nn.Module {
        fc = new nn.Linear(4, 2);
        override forward(x: tf.Tensor): tf.Tensor {
          return this.fc.forward(x);
        }
      }

      const dataset = new data.TensorDataset(tf.zeros([8, 4]), tf.zeros([8]));
      class Critic extends Net {}

      class NetModule extends LightningModule {
        model = new Net();
        override automaticOptimization = false;

        constructor(private readonly args: { epochs: number }) {
          super();
        }

        override forward(x: tf.Tensor): tf.Tensor {
          return this.model.forward(x);
        }

        override trainingStep([x, y]: [tf.Tensor, tf.Tensor], batchIdx: number) {
          const optimizer = this.optimizers();
          optimizer.zeroGrad();
          const loss = F.mseLoss(this.forward(x), y);
          this.manualBackward(loss);
          this.log("train_loss", loss);
          if (loss.item() > 9) return;
          optimizer.step();
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
    expect(late.notes.join("\n")).toContain("manual optimisation (`continue` after backward() skips the optimizer step)");
  });

  it("a `break` as the last thing a batch does (`--dry-run` after the log line) → onTrainBatchStart returns -1 for the next batch", async () => {
    const loop = ts`
      for (let epoch = 0; epoch < args.epochs; epoch++) {
        let batchIdx = 0;
        for (const [x, y] of loader) {
          optimizer.zeroGrad();
          const loss = F.crossEntropy(model.forward(x), y);
          loss.backward();
          optimizer.step();
          if (batchIdx % 10 === 0) {
            console.log(loss.item());
            if (args.epochs > 5) {
              break;
            }
          }
          batchIdx++;
        }
      }
    `;
    const out = await mod(script(HEAD + loop, { prelude: "const dataset = new data.TensorDataset(tf.zeros([8, 4]), tf.zeros([8]));" }));
    expect(out).toContain(ts`
        override onTrainEpochStart() {
          this.endEpoch = false;
        }

        override onTrainBatchStart() {
          return this.endEpoch ? -1 : undefined;
        }

        override trainingStep([x, y]: [tf.Tensor, tf.Tensor], batchIdx: number) {
          const loss = F.crossEntropy(this.forward(x), y);
          this.log("train_loss", loss);
          if (batchIdx % 10 === 0) {
            this.print(loss.item());
            if (this.args.epochs > 5) {
              this.endEpoch = true;
            }
          }
          return loss;
        }
    `.replace(/^/gm, "  ").replace(/^  $/gm, ""));
    expect(out).toContain("  private endEpoch = false;\n");
  });
});
