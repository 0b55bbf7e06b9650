// Shapes from real scripts (fixtures/real): entry function, closures, factory/parameter/assigned optimizers,
// destructured device moves. transforms/lite/optimizer-pairs.ts, lite-class.ts, analysis/entry.ts.
import { describe, expect, it } from "vitest";
import { lite, ts } from "../helpers";

describe("real-script shapes (--to lite)", () => {
  it("the entry is the function holding the loop, not a main() that only parses and calls it; main becomes async", async () => {
    const input = ts`
      import { tf, nn, F, optim, data, cuda } from "lightning-ts/torch";

      class Net extends nn.Module {
        fc = new nn.Linear(4, 2);
        override forward(x: tf.Tensor): tf.Tensor {
          return this.fc.forward(x);
        }
      }

      async function run(hparams: { lr: number }): Promise<void> {
        const device = cuda.isAvailable() ? "cuda" : "cpu";
        const loader = new data.DataLoader(new data.TensorDataset(tf.zeros([8, 4]), tf.zeros([8], "int32")), { batchSize: 4 });
        const model = new Net().to(device);
        const optimizer = new optim.SGD(model.parameters(), { lr: hparams.lr });
        for (let [x, y] of loader) {
          [x, y] = [x.to(device), y.to(device)];
          optimizer.zeroGrad();
          F.crossEntropy(model.forward(x), y).backward();
          optimizer.step();
        }
      }

      function main(): void {
        const hparams = { lr: Number(process.env.LR ?? "0.1") };
        run(hparams);
      }

      main();
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

      class Lite extends LightningLite {
        override async run(hparams: { lr: number }): Promise<void> {
          const loader = this.setupDataloaders(
            new data.DataLoader(
              new data.TensorDataset(tf.zeros([8, 4]), tf.zeros([8], "int32")),
              { batchSize: 4 },
            ),
          );
          let model = new Net();
          let optimizer = new optim.SGD(model.parameters(), { lr: hparams.lr });
          [model, optimizer] = this.setup(model, optimizer);
          for (const [x, y] of loader) {
            optimizer.zeroGrad();
            this.backward(F.crossEntropy(model.forward(x), y));
            optimizer.step();
          }
        }
      }

      async function main(): Promise<void> {
        const hparams = { lr: Number(process.env.LR ?? "0.1") };
        await new Lite({ accelerator: "auto", devices: 1, precision: "32-true" }).run(
          hparams,
        );
      }

      main();
    `);
  });

  it("a backward in a closure inside the loop (LBFGS) trains; a main guard stays around the run call", async () => {
    const input = ts`
      import { tf, nn, optim } from "lightning-ts/torch";

      if (import.meta.url === \`file://\${process.argv[1]}\`) {
        const input = tf.ones([2, 4]);
        const model = new nn.Linear(4, 1);
        const optimizer = new optim.LBFGS(model.parameters(), { lr: 0.8 });
        for (let i = 0; i < 2; i++) {
          const closure = () => {
            optimizer.zeroGrad();
            const loss = model.forward(input).mean();
            loss.backward();
            return loss;
          };
          optimizer.step(closure);
        }
      }
    `;
    expect(await lite(input)).toBe(ts`
      import { LightningLite } from "lightning-ts";
      import { tf, nn, optim } from "lightning-ts/torch";

      class Lite extends LightningLite {
        override async run() {
          const input = tf.ones([2, 4]);
          let model = new nn.Linear(4, 1);
          let optimizer = new optim.LBFGS(model.parameters(), { lr: 0.8 });
          [model, optimizer] = this.setup(model, optimizer);
          for (let i = 0; i < 2; i++) {
            const closure = () => {
              optimizer.zeroGrad();
              const loss = model.forward(input).mean();
              this.backward(loss);
              return loss;
            };
            optimizer.step(closure);
          }
        }
      }

      if (import.meta.url === \`file://\${process.argv[1]}\`) {
        await new Lite({
          accelerator: "auto",
          devices: 1,
          precision: "32-true",
        }).run();
      }
    `);
  });

  it("an optimizer from model.configureOptimizers(...) at module level is set up with its model, and clipping uses the pair", async () => {
    const input = ts`
      import { tf, nn, optim } from "lightning-ts/torch";

      class GPT extends nn.Module {
        fc = new nn.Linear(4, 1);
        override forward(x: tf.Tensor): tf.Tensor {
          return this.fc.forward(x);
        }
        configureOptimizers(lr: number): optim.AdamW {
          const optimizer = new optim.AdamW(this.parameters(), { lr });
          return optimizer;
        }
      }

      const x = tf.ones([2, 4]);
      let model: GPT;
      model = new GPT();
      // optimizer
      const optimizer = model.configureOptimizers(1e-3);
      for (let it = 0; it < 3; it++) {
        const loss = model.forward(x).mean();
        loss.backward();
        nn.utils.clipGradNorm(model.parameters(), 1.0);
        optimizer.step();
        optimizer.zeroGrad();
      }
    `;
    expect(await lite(input)).toBe(ts`
      import { LightningLite } from "lightning-ts";
      import { tf, nn, optim } from "lightning-ts/torch";

      class GPT extends nn.Module {
        fc = new nn.Linear(4, 1);
        override forward(x: tf.Tensor): tf.Tensor {
          return this.fc.forward(x);
        }
        configureOptimizers(lr: number): optim.AdamW {
          const optimizer = new optim.AdamW(this.parameters(), { lr });
          return optimizer;
        }
      }

      const x = tf.ones([2, 4]);
      class Lite extends LightningLite {
        override async run() {
          let model: GPT;
          model = new GPT();
          // optimizer
          let optimizer = model.configureOptimizers(1e-3);
          [model, optimizer] = this.setup(model, optimizer);
          for (let it = 0; it < 3; it++) {
            const loss = model.forward(x).mean();
            this.backward(loss);
            this.clipGradients(model, optimizer, { maxNorm: 1.0 });
            optimizer.step();
            optimizer.zeroGrad();
          }
        }
      }

      await new Lite({ accelerator: "auto", devices: 1, precision: "32-true" }).run();
    `);
  });

  it("an optimizer over a parameter's parameters() is set up with that parameter", async () => {
    const input = ts`
      import { tf, nn, optim } from "lightning-ts/torch";

      class RNN extends nn.Module {
        fc = new nn.Linear(4, 1);
        override forward(x: tf.Tensor): tf.Tensor {
          return this.fc.forward(x);
        }
      }

      async function train(rnn: RNN, epochs: number): Promise<void> {
        const optimizer = new optim.SGD(rnn.parameters(), { lr: 0.1 });
        for (let e = 0; e < epochs; e++) {
          const loss = rnn.forward(tf.ones([2, 4])).mean();
          loss.backward();
          nn.utils.clipGradNorm(rnn.parameters(), 3);
          optimizer.step();
          optimizer.zeroGrad();
        }
      }

      await train(new RNN(), 2);
    `;
    expect(await lite(input)).toBe(ts`
      import { LightningLite } from "lightning-ts";
      import { tf, nn, optim } from "lightning-ts/torch";

      class RNN extends nn.Module {
        fc = new nn.Linear(4, 1);
        override forward(x: tf.Tensor): tf.Tensor {
          return this.fc.forward(x);
        }
      }

      class Lite extends LightningLite {
        override async run(rnn: RNN, epochs: number): Promise<void> {
          let optimizer = new optim.SGD(rnn.parameters(), { lr: 0.1 });
          [rnn, optimizer] = this.setup(rnn, optimizer);
          for (let e = 0; e < epochs; e++) {
            const loss = rnn.forward(tf.ones([2, 4])).mean();
            this.backward(loss);
            this.clipGradients(rnn, optimizer, { maxNorm: 3 });
            optimizer.step();
            optimizer.zeroGrad();
          }
        }
      }

      await new Lite({ accelerator: "auto", devices: 1, precision: "32-true" }).run(
        new RNN(),
        2,
      );
    `);
  });

  it("an optimizer assigned under a condition is set up where assigned; a model assigned in if/else is set up after it", async () => {
    const input = ts`
      import { tf, nn, optim } from "lightning-ts/torch";

      const useOptimizer = process.argv.includes("--opt");
      let model: nn.Linear;
      if (process.argv.includes("--big")) {
        model = new nn.Linear(4, 1);
      } else {
        model = new nn.Linear(4, 1, { bias: false });
      }
      let optimizer!: optim.AdamW;
      if (useOptimizer) {
        optimizer = new optim.AdamW(model.parameters(), { lr: 1e-3 });
      }
      for (let e = 0; e < 2; e++) {
        model.zeroGrad();
        const loss = model.forward(tf.ones([2, 4])).mean();
        loss.backward();
        if (useOptimizer) optimizer.step();
      }
    `;
    expect(await lite(input)).toBe(ts`
      import { LightningLite } from "lightning-ts";
      import { tf, nn, optim } from "lightning-ts/torch";

      const useOptimizer = process.argv.includes("--opt");
      class Lite extends LightningLite {
        override async run() {
          let model: nn.Linear;
          if (process.argv.includes("--big")) {
            model = new nn.Linear(4, 1);
          } else {
            model = new nn.Linear(4, 1, { bias: false });
          }
          [model] = this.setup(model);
          let optimizer!: optim.AdamW;
          if (useOptimizer) {
            optimizer = new optim.AdamW(model.parameters(), { lr: 1e-3 });
            [optimizer] = this.setupOptimizers(optimizer);
          }
          for (let e = 0; e < 2; e++) {
            model.zeroGrad();
            const loss = model.forward(tf.ones([2, 4])).mean();
            this.backward(loss);
            if (useOptimizer) optimizer.step();
          }
        }
      }

      await new Lite({ accelerator: "auto", devices: 1, precision: "32-true" }).run();
    `);
  });
});
