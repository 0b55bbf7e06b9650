// `--to module`: dataloader hooks (transforms/module/dataloaders.ts), validation and test loops
// (eval-steps.ts), the epoch hooks around them (epoch-hooks.ts, entry-code.ts), fields
// (fields.ts), inlined helpers (inline-helpers.ts) and configuration constants (config.ts).
import { describe, expect, it } from "vitest";
import { mod, script, toModule, ts } from "../helpers";

const STEP = ts`
  optimizer.zeroGrad();
  const loss = F.crossEntropy(model.forward(x), y);
  loss.backward();
  optimizer.step();
`;
const indent = (s: string, n: string) => s.trimEnd().split("\n").map((l) => (l ? n + l : l)).join("\n");
const loop = (loader: string, body = STEP) => `for (const [x, y] of ${loader}) {\n${indent(body, "  ")}\n}`;
const MODEL = "const model = new Net();\nconst optimizer = new optim.SGD(model.parameters(), { lr: 0.1 });\n";
const IMPORTS = "tf, nn, F, optim, data, noGrad";
const make = (data: string, epochBody: string, after = "") =>
  script(`${MODEL}${data}\nfor (let epoch = 0; epoch < args.epochs; epoch++) {\n${indent(epochBody, "  ")}\n}\n${after}`, { imports: IMPORTS });

describe("dataloader hooks", () => {
  it("a loader with the dataset code only it reads: built in its hook (async when the code awaits)", async () => {
    const out = await mod(
      make(
        ts`
          const full = await data.FashionMNIST.load({ split: "train" });
          const [trainSet] = data.randomSplit(full, [64, full.length - 64]);
          const loader = new data.DataLoader(trainSet, { batchSize: 16, shuffle: true });
        `,
        loop("loader"),
      ),
    );
    expect(out).toBe(ts`
      import { LightningModule, Trainer } from "lightning-ts";
      import { tf, nn, F, optim, data, noGrad } from "lightning-ts/torch";

      class Net extends nn.Module {
        fc = new nn.Linear(4, 2);
        override forward(x: tf.Tensor): tf.Tensor {
          return this.fc.forward(x);
        }
      }

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

        override async trainDataloader() {
          const full = await data.FashionMNIST.load({ split: "train" });
          const [trainSet] = data.randomSplit(full, [64, full.length - 64]);
          return new data.DataLoader(trainSet, { batchSize: 16, shuffle: true });
        }
      }

      await new Trainer({ maxEpochs: 1 }).fit(new NetModule({ epochs: 1 }));
    `);
  });

  it("datasets read by several hooks (or a report) are built once by loadDatasets() in setup(), in the script's order", async () => {
    const out = await mod(
      make(
        ts`
          const full = new data.SyntheticClassification({ numSamples: 100, numFeatures: 4, numClasses: 2 });
          const [trainSet, valSet] = data.randomSplit(full, [80, 20]);
          const trainLoader = new data.DataLoader(trainSet, { batchSize: 16, shuffle: true });
          const valLoader = new data.DataLoader(valSet, { batchSize: 20 });
        `,
        `${loop("trainLoader")}\nlet correct = 0;\nnoGrad(() => {\n  for (const [x, y] of valLoader) correct += model.forward(x).argMax(1).equal(y).sum().item();\n});\nconsole.log(correct / valSet.length);`,
      ),
    );
    expect(out).toBe(ts`
      import { LightningModule, Trainer } from "lightning-ts";
      import { tf, nn, F, optim, data } from "lightning-ts/torch";

      class Net extends nn.Module {
        fc = new nn.Linear(4, 2);
        override forward(x: tf.Tensor): tf.Tensor {
          return this.fc.forward(x);
        }
      }

      class NetModule extends LightningModule {
        model = new Net();
        private correct = 0;
        /** What loadDatasets() built (once, in setup()). */
        private datasets!: Awaited<ReturnType<NetModule["loadDatasets"]>>;

        constructor(private readonly args: { epochs: number }) {
          super();
        }

        override forward(x: tf.Tensor): tf.Tensor {
          return this.model.forward(x);
        }

        override trainingStep([x, y]: [tf.Tensor, tf.Tensor], batchIdx: number) {
          const loss = F.crossEntropy(this.forward(x), y);
          this.log("train_loss", loss, { onEpoch: true, progBar: true });
          return loss;
        }

        override onTrainEpochEnd() {
          this.print(this.correct / this.datasets.valSet.length);
        }

        override onValidationEpochStart() {
          this.correct = 0;
        }

        override validationStep([x, y]: [tf.Tensor, tf.Tensor], batchIdx: number) {
          this.correct += this.forward(x).argMax(1).equal(y).sum().item();
        }

        override configureOptimizers() {
          return new optim.SGD(this.parameters(), { lr: 0.1 });
        }

        override setup() {
          // Built once for fit and test alike, in the plain script's order: the same random draws.
          this.datasets ??= this.loadDatasets();
        }

        private loadDatasets() {
          const full = new data.SyntheticClassification({
            numSamples: 100,
            numFeatures: 4,
            numClasses: 2,
          });
          const [trainSet, valSet] = data.randomSplit(full, [80, 20]);
          return { trainSet, valSet };
        }

        override trainDataloader() {
          return new data.DataLoader(this.datasets.trainSet, {
            batchSize: 16,
            shuffle: true,
          });
        }

        override valDataloader() {
          return new data.DataLoader(this.datasets.valSet, { batchSize: 20 });
        }
      }

      await new Trainer({ maxEpochs: 1 }).fit(new NetModule({ epochs: 1 }));
    `);
  });

  it("the data stream's order: a shuffled train loader built before another split stays before it (in loadDatasets)", async () => {
    const out = await mod(
      make(
        ts`
          const full = new data.SyntheticClassification({ numSamples: 100, numFeatures: 4, numClasses: 2 });
          const trainLoader = new data.DataLoader(full, { batchSize: 16, shuffle: true });
          const [valSet] = data.randomSplit(full, [20, 80]);
          const valLoader = new data.DataLoader(valSet, { batchSize: 20 });
        `,
        `${loop("trainLoader")}\nnoGrad(() => {\n  for (const [x] of valLoader) model.forward(x);\n});`,
      ),
    );
    expect(out).toBe(ts`
      import { LightningModule, Trainer } from "lightning-ts";
      import { tf, nn, F, optim, data } from "lightning-ts/torch";

      class Net extends nn.Module {
        fc = new nn.Linear(4, 2);
        override forward(x: tf.Tensor): tf.Tensor {
          return this.fc.forward(x);
        }
      }

      class NetModule extends LightningModule {
        model = new Net();
        /** What loadDatasets() built (once, in setup()). */
        private datasets!: Awaited<ReturnType<NetModule["loadDatasets"]>>;

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

        override validationStep([x]: [tf.Tensor], batchIdx: number) {
          this.forward(x);
        }

        override configureOptimizers() {
          return new optim.SGD(this.parameters(), { lr: 0.1 });
        }

        override setup() {
          // Built once for fit and test alike, in the plain script's order: the same random draws.
          this.datasets ??= this.loadDatasets();
        }

        private loadDatasets() {
          const full = new data.SyntheticClassification({
            numSamples: 100,
            numFeatures: 4,
            numClasses: 2,
          });
          const trainLoader = new data.DataLoader(full, {
            batchSize: 16,
            shuffle: true,
          });
          const [valSet] = data.randomSplit(full, [20, 80]);
          return { trainLoader, valSet };
        }

        override trainDataloader() {
          return this.datasets.trainLoader;
        }

        override valDataloader() {
          return new data.DataLoader(this.datasets.valSet, { batchSize: 20 });
        }
      }

      await new Trainer({ maxEpochs: 1 }).fit(new NetModule({ epochs: 1 }));
    `);
  });

  it("a shuffled validation loader is built in setup: the sanity check's draws are rolled back, so it must not draw there", async () => {
    const out = await mod(
      make(
        "const trainLoader = new data.DataLoader(dataset, { batchSize: 4, shuffle: true });\nconst valLoader = new data.DataLoader(dataset, { batchSize: 4, shuffle: true });",
        `${loop("trainLoader")}\nnoGrad(() => {\n  for (const [x] of valLoader) model.forward(x);\n});`,
      ).replace("async function main", 'const dataset = new data.TensorDataset(tf.zeros([8, 4]), tf.zeros([8]));\n\nasync function main'),
    );
    // Both shuffled loaders, in the script's order (the train loader's draw comes first).
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
        /** What loadDatasets() built (once, in setup()). */
        private datasets!: Awaited<ReturnType<NetModule["loadDatasets"]>>;

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

        override validationStep([x]: [tf.Tensor], batchIdx: number) {
          this.forward(x);
        }

        override configureOptimizers() {
          return new optim.SGD(this.parameters(), { lr: 0.1 });
        }

        override setup() {
          // Built once for fit and test alike, in the plain script's order: the same random draws.
          this.datasets ??= this.loadDatasets();
        }

        private loadDatasets() {
          const trainLoader = new data.DataLoader(dataset, {
            batchSize: 4,
            shuffle: true,
          });
          const valLoader = new data.DataLoader(dataset, {
            batchSize: 4,
            shuffle: true,
          });
          return { trainLoader, valLoader };
        }

        override trainDataloader() {
          return this.datasets.trainLoader;
        }

        override valDataloader() {
          return this.datasets.valLoader;
        }
      }

      await new Trainer({ maxEpochs: 1 }).fit(new NetModule({ epochs: 1 }));
    `);
  });
});

describe("validation and test loops, and the code around them", () => {
  const DATA = ts`
    const trainLoader = new data.DataLoader(dataset, { batchSize: 4, shuffle: true });
    const valLoader = new data.DataLoader(dataset, { batchSize: 4 });
    const testLoader = new data.DataLoader(dataset, { batchSize: 4 });
  `;
  const withDataset = (src: string) => src.replace("async function main", 'const dataset = new data.TensorDataset(tf.zeros([8, 4]), tf.zeros([8]));\n\nasync function main');

  it("inside the epoch loop: validationStep; its accumulators reset in onValidationEpochStart; the report in onTrainEpochEnd", async () => {
    const { output, notes } = await toModule(
      withDataset(
        make(
          DATA,
          ts`
            // training
            model.train();
            ${loop("trainLoader")}

            // validation
            model.eval();
            let valLoss = 0;
            noGrad(() => {
              for (const [x, y] of valLoader) {
                valLoss += F.crossEntropy(model.forward(x), y).item();
              }
            });
            console.log(\`epoch \${epoch}: \${valLoss}\`);
          `.replace(/\n  (?=optimizer|const loss|loss\.|\})/g, "\n"),
        ),
      ),
    );
    expect(output).toBe(ts`
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
        private valLoss = 0;

        constructor(private readonly args: { epochs: number }) {
          super();
        }

        override forward(x: tf.Tensor): tf.Tensor {
          return this.model.forward(x);
        }

        override onFitStart() {
          const testLoader = new data.DataLoader(dataset, { batchSize: 4 });
        }

        override trainingStep([x, y]: [tf.Tensor, tf.Tensor], batchIdx: number) {
          const loss = F.crossEntropy(this.forward(x), y);
          this.log("train_loss", loss, { onEpoch: true, progBar: true });
          return loss;
        }

        override onTrainEpochEnd() {
          this.print(\`epoch \${this.currentEpoch}: \${this.valLoss}\`);
        }

        override onValidationEpochStart() {
          this.valLoss = 0;
        }

        override validationStep([x, y]: [tf.Tensor, tf.Tensor], batchIdx: number) {
          this.valLoss += F.crossEntropy(this.forward(x), y).item();
        }

        override configureOptimizers() {
          return new optim.SGD(this.parameters(), { lr: 0.1 });
        }

        override trainDataloader() {
          return new data.DataLoader(dataset, { batchSize: 4, shuffle: true });
        }

        override valDataloader() {
          return new data.DataLoader(dataset, { batchSize: 4 });
        }
      }

      await new Trainer({ maxEpochs: 1 }).fit(new NetModule({ epochs: 1 }));
    `);
    expect(output).not.toContain("noGrad");
    expect(output).not.toContain(".eval()");
    expect(notes.find((n) => n.startsWith("validation loop"))).toMatch(/^validation loop \(lines \d+–\d+\) → validationStep\(\)$/);
  });

  it("after the epoch loop: testStep, its hooks, and trainer.test(model) after fit", async () => {
    const out = await mod(
      withDataset(
        make(
          DATA,
          loop("trainLoader"),
          ts`
            model.eval();
            let correct = 0;
            for (const [x, y] of testLoader) correct += model.forward(x).argMax(1).equal(y).sum().item();
            console.log(\`test accuracy \${correct / 8}\`);
          `,
        ),
      ),
    );
    expect(out).toBe(ts`
      import { LightningModule, Trainer } from "lightning-ts";
      import { tf, nn, F, optim, data, noGrad } from "lightning-ts/torch";

      class Net extends nn.Module {
        fc = new nn.Linear(4, 2);
        override forward(x: tf.Tensor): tf.Tensor {
          return this.fc.forward(x);
        }
      }

      const dataset = new data.TensorDataset(tf.zeros([8, 4]), tf.zeros([8]));

      class NetModule extends LightningModule {
        model = new Net();
        private correct = 0;

        constructor(private readonly args: { epochs: number }) {
          super();
        }

        override forward(x: tf.Tensor): tf.Tensor {
          return this.model.forward(x);
        }

        override onFitStart() {
          const valLoader = new data.DataLoader(dataset, { batchSize: 4 });
        }

        override trainingStep([x, y]: [tf.Tensor, tf.Tensor], batchIdx: number) {
          const loss = F.crossEntropy(this.forward(x), y);
          this.log("train_loss", loss);
          return loss;
        }

        override onTestEpochStart() {
          this.correct = 0;
        }

        override testStep([x, y]: [tf.Tensor, tf.Tensor], batchIdx: number) {
          this.correct += this.forward(x).argMax(1).equal(y).sum().item();
        }

        override onTestEpochEnd() {
          this.print(\`test accuracy \${this.correct / 8}\`);
        }

        override configureOptimizers() {
          return new optim.SGD(this.parameters(), { lr: 0.1 });
        }

        override trainDataloader() {
          return new data.DataLoader(dataset, { batchSize: 4, shuffle: true });
        }

        override testDataloader() {
          return new data.DataLoader(dataset, { batchSize: 4 });
        }
      }

      const model = new NetModule({ epochs: 1 });
      const trainer = new Trainer({ maxEpochs: 1 });
      await trainer.fit(model);
      await trainer.test(model);
    `);
  });

  it("helpers that hold a loop are inlined: their parameters become what the call passed, their result replaces the call", async () => {
    const src = ts`
      import { tf, nn, F, optim, data, noGrad } from "lightning-ts/torch";

      class Net extends nn.Module {
        fc = new nn.Linear(4, 2);
        override forward(x: tf.Tensor): tf.Tensor {
          return this.fc.forward(x);
        }
      }

      function trainEpoch(net: Net, loader: data.DataLoader<[tf.Tensor, tf.Tensor]>, opt: optim.Optimizer, scale: number): number {
        net.train();
        let total = 0;
        for (const [x, y] of loader) {
          opt.zeroGrad();
          const loss = F.crossEntropy(net.forward(x), y).mul(scale);
          loss.backward();
          opt.step();
          total += loss.item();
        }
        return total / loader.length;
      }

      /** Mean loss over a loader. */
      function evaluate(net: Net, loader: data.DataLoader<[tf.Tensor, tf.Tensor]>): { loss: number } {
        net.eval();
        let sum = 0;
        noGrad(() => {
          for (const [x, y] of loader) sum += F.crossEntropy(net.forward(x), y).item();
        });
        return { loss: sum / loader.length };
      }

      async function main(args: { epochs: number }) {
        const dataset = new data.TensorDataset(tf.zeros([8, 4]), tf.zeros([8]));
        const model = new Net();
        const optimizer = new optim.SGD(model.parameters(), { lr: 0.1 });
        const trainLoader = new data.DataLoader(dataset, { batchSize: 4, shuffle: true });
        const valLoader = new data.DataLoader(dataset, { batchSize: 4 });
        for (let epoch = 1; epoch <= args.epochs; epoch++) {
          const trainLoss = trainEpoch(model, trainLoader, optimizer, 2);
          const { loss } = evaluate(model, valLoader);
          console.log(epoch, trainLoss, loss);
        }
      }

      await main({ epochs: 3 });
    `;
    const { output, notes } = await toModule(src);
    expect(output).toBe(ts`
      import { LightningModule, Trainer } from "lightning-ts";
      import { tf, nn, F, optim, data } from "lightning-ts/torch";

      class Net extends nn.Module {
        fc = new nn.Linear(4, 2);
        override forward(x: tf.Tensor): tf.Tensor {
          return this.fc.forward(x);
        }
      }

      class NetModule extends LightningModule {
        model = new Net();
        private total = 0;
        private sum = 0;
        /** What loadDatasets() built (once, in setup()). */
        private datasets!: Awaited<ReturnType<NetModule["loadDatasets"]>>;

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
          const loss = F.crossEntropy(this.forward(x), y).mul(2);
          this.log("train_loss", loss, { onEpoch: true, progBar: true });
          this.total += loss.item();
          return loss;
        }

        override onTrainEpochEnd() {
          const trainLoss = this.total / this.datasets.trainLoader.length;
          const { loss } = { loss: this.sum / this.datasets.valLoader.length };
          this.print(this.currentEpoch + 1, trainLoss, loss);
        }

        override onValidationEpochStart() {
          this.sum = 0;
        }

        override validationStep([x, y]: [tf.Tensor, tf.Tensor], batchIdx: number) {
          this.sum += F.crossEntropy(this.forward(x), y).item();
        }

        override configureOptimizers() {
          return new optim.SGD(this.parameters(), { lr: 0.1 });
        }

        override setup() {
          // Built once for fit and test alike, in the plain script's order: the same random draws.
          this.datasets ??= this.loadDatasets();
        }

        private loadDatasets() {
          const dataset = new data.TensorDataset(tf.zeros([8, 4]), tf.zeros([8]));
          const trainLoader = new data.DataLoader(dataset, {
            batchSize: 4,
            shuffle: true,
          });
          const valLoader = new data.DataLoader(dataset, { batchSize: 4 });
          return { trainLoader, valLoader };
        }

        override trainDataloader() {
          return this.datasets.trainLoader;
        }

        override valDataloader() {
          return this.datasets.valLoader;
        }
      }

      await new Trainer({ maxEpochs: 3 }).fit(new NetModule({ epochs: 3 }));
    `);
    expect(output).not.toContain("function trainEpoch");
    expect(output).not.toContain("function evaluate");
    expect(output).not.toContain("Mean loss over a loader");
    expect(notes).toContain("trainEpoch() (line 10) inlined: its loop and the code around it moved into the module");
  });

  it("before training: seeding goes before the module is built, code that reads the model to onFitStart; after training: onFitEnd", async () => {
    const out = await mod(
      withDataset(
        script(
          ts`
            manualSeed(1);
            const model = new Net();
            const optimizer = new optim.SGD(model.parameters(), { lr: 0.1 });
            const trainLoader = new data.DataLoader(dataset, { batchSize: 4, shuffle: true });
            console.log(\`\${model.parameters().length} parameter tensors\`);
            for (let epoch = 0; epoch < args.epochs; epoch++) {
            ${indent(loop("trainLoader"), "  ")}
            }
            await save(model.stateDict(), "model.ckpt");
          `,
          { imports: "tf, nn, F, optim, data, manualSeed, save" },
        ),
      ),
    );
    expect(out).toBe(ts`
      import { LightningModule, Trainer } from "lightning-ts";
      import { tf, nn, F, optim, data, manualSeed, save } from "lightning-ts/torch";

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

        override onFitStart() {
          this.print(\`\${this.parameters().length} parameter tensors\`);
        }

        override trainingStep([x, y]: [tf.Tensor, tf.Tensor], batchIdx: number) {
          const loss = F.crossEntropy(this.forward(x), y);
          this.log("train_loss", loss);
          return loss;
        }

        override async onFitEnd() {
          await save(this.model.stateDict(), "model.ckpt");
        }

        override configureOptimizers() {
          return new optim.SGD(this.parameters(), { lr: 0.1 });
        }

        override trainDataloader() {
          return new data.DataLoader(dataset, { batchSize: 4, shuffle: true });
        }
      }

      manualSeed(1);
      await new Trainer({ maxEpochs: 1 }).fit(new NetModule({ epochs: 1 }));
    `);
  });

  it("configuration constants are copied into each method that reads them; fields get their types", async () => {
    const out = await mod(
      withDataset(
        script(
          ts`
            const scale = args.scale * 2;
            const model = new Net();
            const optimizer = new optim.SGD(model.parameters(), { lr: 0.1 / scale });
            const trainLoader = new data.DataLoader(dataset, { batchSize: 4 });
            for (let epoch = 0; epoch < args.epochs; epoch++) {
              let best = Infinity;
              let name: string | null = null;
              const started = Date.now();
              for (const [x, y] of trainLoader) {
                optimizer.zeroGrad();
                const loss = F.crossEntropy(model.forward(x), y).mul(scale);
                loss.backward();
                optimizer.step();
                best = Math.min(best, loss.item());
                name = \`batch \${started}\`;
              }
              console.log(best, name, Date.now() - started);
            }
          `,
          { args: "args: { epochs: number; scale: number }" },
        ).replace("main({ epochs: 1 });", "main({ epochs: 1, scale: 1 });"),
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

      class NetModule extends LightningModule {
        model = new Net();
        private best = Infinity;
        private name: string | null = null;
        private started!: number;

        constructor(private readonly args: { epochs: number; scale: number }) {
          super();
        }

        override forward(x: tf.Tensor): tf.Tensor {
          return this.model.forward(x);
        }

        override onTrainEpochStart() {
          this.best = Infinity;
          this.name = null;
          this.started = Date.now();
        }

        override trainingStep([x, y]: [tf.Tensor, tf.Tensor], batchIdx: number) {
          const scale = this.args.scale * 2;
          const loss = F.crossEntropy(this.forward(x), y).mul(scale);
          this.log("train_loss", loss, { onEpoch: true, progBar: true });
          this.best = Math.min(this.best, loss.item());
          this.name = \`batch \${this.started}\`;
          return loss;
        }

        override onTrainEpochEnd() {
          this.print(this.best, this.name, Date.now() - this.started);
        }

        override configureOptimizers() {
          const scale = this.args.scale * 2;
          return new optim.SGD(this.parameters(), { lr: 0.1 / scale });
        }

        override trainDataloader() {
          return new data.DataLoader(dataset, { batchSize: 4 });
        }
      }

      await new Trainer({ maxEpochs: 1 }).fit(new NetModule({ epochs: 1, scale: 1 }));
    `);
  });
});
