// Shapes from real scripts, second part (fixtures/real/mingpt, nn_tutorial): a trainer class, declarations among
// top-level training code, helpers returning the model with its optimizer or the DataLoaders.
// transforms/lite/trainer-class.ts, lite-access.ts, lite-class.ts (hoistDeclarations), optimizer-pairs.ts, setup-models.ts.
import { describe, expect, it } from "vitest";
import { lite, ts } from "../helpers";

describe("real-script shapes, second part (--to lite)", () => {
  it("a user-written trainer class whose method trains holds the Lite instance (constructor parameter and field); setup, setupDataloaders, backward and clipGradients go through this.lite; `batch = batch.map((t) => t.to(device))` goes", async () => {
    const input = ts`
      import { tf, nn, F, optim, data, cuda } from "lightning-ts/torch";

      class Net extends nn.Module {
        fc = new nn.Linear(4, 2);
        override forward(x: tf.Tensor): tf.Tensor {
          return this.fc.forward(x);
        }
        configureOptimizers(lr: number): optim.SGD {
          const optimizer = new optim.SGD(this.parameters(), { lr });
          return optimizer;
        }
      }

      class Trainer {
        model: Net;
        optimizer: optim.Optimizer | null = null;
        device: string;

        constructor(model: Net) {
          this.model = model;
          this.device = cuda.isAvailable() ? "cuda" : "cpu";
        }

        run(dataset: data.TensorDataset): void {
          const model = this.model;
          this.optimizer = model.configureOptimizers(0.1);
          const loader = new data.DataLoader(dataset, { batchSize: 4 });
          for (let batch of loader) {
            batch = batch.map((t) => t.to(this.device));
            const [x, y] = batch;
            model.zeroGrad();
            const loss = F.crossEntropy(model.forward(x), y);
            loss.backward();
            nn.utils.clipGradNorm(model.parameters(), 1.0);
            this.optimizer.step();
          }
        }
      }

      const dataset = new data.TensorDataset(tf.zeros([8, 4]), tf.zeros([8], "int32"));
      const model = new Net();
      const trainer = new Trainer(model);
      trainer.run(dataset);
    `;
    expect(await lite(input)).toBe(ts`
      import { LightningLite } from "lightning-ts";
      import { tf, nn, F, optim, data, cuda } from "lightning-ts/torch";

      class Net extends nn.Module {
        fc = new nn.Linear(4, 2);
        override forward(x: tf.Tensor): tf.Tensor {
          return this.fc.forward(x);
        }
        configureOptimizers(lr: number): optim.SGD {
          const optimizer = new optim.SGD(this.parameters(), { lr });
          return optimizer;
        }
      }

      class Trainer {
        lite: LightningLite;
        model: Net;
        optimizer: optim.Optimizer | null = null;
        device: string;

        constructor(lite: LightningLite, model: Net) {
          this.lite = lite;
          this.model = model;
          this.device = cuda.isAvailable() ? "cuda" : "cpu";
        }

        run(dataset: data.TensorDataset): void {
          let model = this.model;
          this.optimizer = model.configureOptimizers(0.1);
          [model, this.optimizer] = this.lite.setup(model, this.optimizer);
          const loader = this.lite.setupDataloaders(
            new data.DataLoader(dataset, { batchSize: 4 }),
          );
          for (const batch of loader) {
            const [x, y] = batch;
            model.zeroGrad();
            const loss = F.crossEntropy(model.forward(x), y);
            this.lite.backward(loss);
            this.lite.clipGradients(model, this.optimizer, { maxNorm: 1.0 });
            this.optimizer.step();
          }
        }
      }

      const dataset = new data.TensorDataset(
        tf.zeros([8, 4]),
        tf.zeros([8], "int32"),
      );
      class Lite extends LightningLite {
        override async run() {
          const model = new Net();
          const trainer = new Trainer(this, model);
          trainer.run(dataset);
        }
      }

      await new Lite({ accelerator: "auto", devices: 1, precision: "32-true" }).run();
    `);
  });

  it("class and function declarations among top-level training code stay at top level, unless they use what run() declares", async () => {
    const input = ts`
      import { tf, nn, F, optim, data } from "lightning-ts/torch";

      class Net extends nn.Module {
        fc = new nn.Linear(4, 2);
        override forward(x: tf.Tensor): tf.Tensor {
          return this.fc.forward(x);
        }
      }

      const loader = new data.DataLoader(new data.TensorDataset(tf.zeros([8, 4]), tf.zeros([8], "int32")), { batchSize: 4 });
      let model: nn.Module = new Net();
      let optimizer = new optim.SGD(model.parameters(), { lr: 0.1 });
      for (const [x, y] of loader) {
        optimizer.zeroGrad();
        F.crossEntropy(model.forward(x), y).backward();
        optimizer.step();
      }

      /** A module from a function (stays at top level). */
      class Lambda extends nn.Module {
        constructor(readonly func: (x: tf.Tensor) => tf.Tensor) {
          super();
        }
        override forward(x: tf.Tensor): tf.Tensor {
          return this.func(x);
        }
      }

      // reads the trained model: stays in run()
      function report(): void {
        console.log(model.training);
      }

      model = new nn.Sequential(new Net(), new Lambda((t) => t.relu()));
      optimizer = new optim.SGD(model.parameters(), { lr: 0.1 });
      for (const [x, y] of loader) {
        optimizer.zeroGrad();
        F.crossEntropy(model.forward(x), y).backward();
        optimizer.step();
      }
      report();
    `;
    expect(await lite(input)).toBe(ts`
      import { LightningLite } from "lightning-ts";
      import { tf, nn, F, optim, data } from "lightning-ts/torch";

      class Net extends nn.Module {
        fc = new nn.Linear(4, 2);
        override forward(x: tf.Tensor): tf.Tensor {
          return this.fc.forward(x);
        }
      }

      /** A module from a function (stays at top level). */
      class Lambda extends nn.Module {
        constructor(readonly func: (x: tf.Tensor) => tf.Tensor) {
          super();
        }
        override forward(x: tf.Tensor): tf.Tensor {
          return this.func(x);
        }
      }

      class Lite extends LightningLite {
        override async run() {
          const loader = this.setupDataloaders(
            new data.DataLoader(
              new data.TensorDataset(tf.zeros([8, 4]), tf.zeros([8], "int32")),
              { batchSize: 4 },
            ),
          );
          let model: nn.Module = new Net();
          let optimizer = new optim.SGD(model.parameters(), { lr: 0.1 });
          [model, optimizer] = this.setup(model, optimizer);
          for (const [x, y] of loader) {
            optimizer.zeroGrad();
            this.backward(F.crossEntropy(model.forward(x), y));
            optimizer.step();
          }

          // reads the trained model: stays in run()
          function report(): void {
            console.log(model.training);
          }

          model = new nn.Sequential(new Net(), new Lambda((t) => t.relu()));
          optimizer = new optim.SGD(model.parameters(), { lr: 0.1 });
          [model, optimizer] = this.setup(model, optimizer);
          for (const [x, y] of loader) {
            optimizer.zeroGrad();
            this.backward(F.crossEntropy(model.forward(x), y));
            optimizer.step();
          }
          report();
        }
      }

      await new Lite({ accelerator: "auto", devices: 1, precision: "32-true" }).run();
    `);
  });

  it("a helper returning [model, optimizer] is set up where the pair is received; DataLoaders built in a helper are wrapped there", async () => {
    const input = ts`
      import { tf, nn, F, optim, data } from "lightning-ts/torch";

      function getModel(): [nn.Linear, optim.SGD] {
        const model = new nn.Linear(4, 2);
        return [model, new optim.SGD(model.parameters(), { lr: 0.1 })];
      }

      function getData(ds: data.TensorDataset): [data.DataLoader<tf.Tensor[]>, data.DataLoader<tf.Tensor[]>] {
        return [new data.DataLoader(ds, { batchSize: 4, shuffle: true }), new data.DataLoader(ds, { batchSize: 8 })];
      }

      const ds = new data.TensorDataset(tf.zeros([8, 4]), tf.zeros([8], "int32"));
      const [trainDl, validDl] = getData(ds);
      let [model, opt] = getModel();
      for (const [x, y] of trainDl) {
        F.crossEntropy(model.forward(x), y).backward();
        opt.step();
        opt.zeroGrad();
      }
      console.log(validDl.length);
    `;
    expect(await lite(input)).toBe(ts`
      import { LightningLite } from "lightning-ts";
      import { tf, nn, F, optim, data } from "lightning-ts/torch";

      function getModel(): [nn.Linear, optim.SGD] {
        const model = new nn.Linear(4, 2);
        return [model, new optim.SGD(model.parameters(), { lr: 0.1 })];
      }

      function getData(
        lite: LightningLite,
        ds: data.TensorDataset,
      ): [data.DataLoader<tf.Tensor[]>, data.DataLoader<tf.Tensor[]>] {
        return [
          lite.setupDataloaders(
            new data.DataLoader(ds, { batchSize: 4, shuffle: true }),
          ),
          lite.setupDataloaders(new data.DataLoader(ds, { batchSize: 8 })),
        ];
      }

      const ds = new data.TensorDataset(tf.zeros([8, 4]), tf.zeros([8], "int32"));
      class Lite extends LightningLite {
        override async run() {
          const [trainDl, validDl] = getData(this, ds);
          let [model, opt] = getModel();
          [model, opt] = this.setup(model, opt);
          for (const [x, y] of trainDl) {
            this.backward(F.crossEntropy(model.forward(x), y));
            opt.step();
            opt.zeroGrad();
          }
          console.log(validDl.length);
        }
      }

      await new Lite({ accelerator: "auto", devices: 1, precision: "32-true" }).run();
    `);
  });
});
