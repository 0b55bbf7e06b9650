// transforms/lite/device/*: every device move form, and the device code that dies with them.
import { describe, expect, it } from "vitest";
import { code, lite, script, toLite, ts } from "../helpers";

const PRELUDE = "const dataset = new data.TensorDataset(tf.zeros([8, 4]), tf.zeros([8], \"int32\"));";

/** A training loop whose batch handling is `batch` (between zeroGrad and backward). */
function loop(setup: string, batch: string, extra = ""): string {
  return script(
    ts`
      ${setup}
      const optimizer = new optim.SGD(model.parameters(), { lr: 0.1 });
      const loader = new data.DataLoader(dataset, { batchSize: 4 });
      for (let [x, y] of loader) {
        optimizer.zeroGrad();
        ${batch}
        loss.backward();
        optimizer.step();
      }
      ${extra}
    `.replace(/\n\s*\n/g, "\n"),
    { prelude: PRELUDE },
  );
}

describe("strip device moves", () => {
  it(".to(device) with a device variable, on the model and on the batch", async () => {
    const out = await lite(
      loop(
        `const device = cuda.isAvailable() ? "cuda" : "cpu";\nconst model = new Net().to(device);`,
        "const loss = F.crossEntropy(model.forward(x.to(device)), y.to(device));",
      ),
    );
    expect(out).toBe(ts`
      import { LightningLite } from "lightning-ts";
      import { tf, nn, F, optim, data } from "lightning-ts/torch";

      class Net extends nn.Module {
        fc = new nn.Linear(4, 2);
        override forward(x: tf.Tensor): tf.Tensor {
          return this.fc.forward(x);
        }
      }

      const dataset = new data.TensorDataset(
        tf.zeros([8, 4]),
        tf.zeros([8], "int32"),
      );

      class Lite extends LightningLite {
        override async run(args: { epochs: number }) {
          let model = new Net();
          let optimizer = new optim.SGD(model.parameters(), { lr: 0.1 });
          [model, optimizer] = this.setup(model, optimizer);
          const loader = this.setupDataloaders(
            new data.DataLoader(dataset, { batchSize: 4 }),
          );
          for (let [x, y] of loader) {
            optimizer.zeroGrad();
            const loss = F.crossEntropy(model.forward(x), y);
            this.backward(loss);
            optimizer.step();
          }
        }
      }

      await new Lite({ accelerator: "auto", devices: 1, precision: "32-true" }).run({
        epochs: 1,
      });
    `);
    expect(code(out)).not.toMatch(/device|cuda/);
  });

  it('.to("cuda:0") and other device string literals, template strings and device() calls', async () => {
    const out = await lite(
      loop(
        `const model = new Net().to("cuda:0");\nconst rank = 0;`,
        "const loss = F.crossEntropy(model.forward(x.to(`cuda:${rank}`)), y.to(torchDevice(\"cpu\")));",
      ).replace("cuda }", "cuda, device as torchDevice }"),
    );
    expect(out).toBe(ts`
      import { LightningLite } from "lightning-ts";
      import { tf, nn, F, optim, data, cuda } from "lightning-ts/torch";

      class Net extends nn.Module {
        fc = new nn.Linear(4, 2);
        override forward(x: tf.Tensor): tf.Tensor {
          return this.fc.forward(x);
        }
      }

      const dataset = new data.TensorDataset(
        tf.zeros([8, 4]),
        tf.zeros([8], "int32"),
      );

      class Lite extends LightningLite {
        override async run(args: { epochs: number }) {
          let model = new Net();
          const rank = 0;
          let optimizer = new optim.SGD(model.parameters(), { lr: 0.1 });
          [model, optimizer] = this.setup(model, optimizer);
          const loader = this.setupDataloaders(
            new data.DataLoader(dataset, { batchSize: 4 }),
          );
          for (let [x, y] of loader) {
            optimizer.zeroGrad();
            const loss = F.crossEntropy(model.forward(x), y);
            this.backward(loss);
            optimizer.step();
          }
        }
      }

      await new Lite({ accelerator: "auto", devices: 1, precision: "32-true" }).run({
        epochs: 1,
      });
    `);
    expect(code(out)).not.toMatch(/cuda|torchDevice/);
  });

  it(".cuda() and .cpu(), chained and before .item()", async () => {
    const out = await lite(
      loop(
        "const model = new Net().cuda();",
        "const loss = F.crossEntropy(model.forward(x.cuda(0)), y.cpu().cuda());",
        "console.log(loss.cpu().item(), loss.detach().cpu().dataSync());",
      ),
    );
    expect(out).toBe(ts`
      import { LightningLite } from "lightning-ts";
      import { tf, nn, F, optim, data, cuda } from "lightning-ts/torch";

      class Net extends nn.Module {
        fc = new nn.Linear(4, 2);
        override forward(x: tf.Tensor): tf.Tensor {
          return this.fc.forward(x);
        }
      }

      const dataset = new data.TensorDataset(
        tf.zeros([8, 4]),
        tf.zeros([8], "int32"),
      );

      class Lite extends LightningLite {
        override async run(args: { epochs: number }) {
          let model = new Net();
          let optimizer = new optim.SGD(model.parameters(), { lr: 0.1 });
          [model, optimizer] = this.setup(model, optimizer);
          const loader = this.setupDataloaders(
            new data.DataLoader(dataset, { batchSize: 4 }),
          );
          for (let [x, y] of loader) {
            optimizer.zeroGrad();
            const loss = F.crossEntropy(model.forward(x), y);
            this.backward(loss);
            optimizer.step();
          }
          console.log(loss.item(), loss.detach().dataSync());
        }
      }

      await new Lite({ accelerator: "auto", devices: 1, precision: "32-true" }).run({
        epochs: 1,
      });
    `);
  });

  it("removes statements that only move: model.to(device); x = x.cuda(); this.net.cpu();", async () => {
    const out = await lite(
      loop(
        "const device = \"cuda\";\nconst model = new Net();\nmodel.to(device); // move it\n",
        "x = x.to(device);\ny = y.cuda();\nconst loss = F.crossEntropy(model.forward(x), y);",
      ),
    );
    expect(out).toBe(ts`
      import { LightningLite } from "lightning-ts";
      import { tf, nn, F, optim, data, cuda } from "lightning-ts/torch";

      class Net extends nn.Module {
        fc = new nn.Linear(4, 2);
        override forward(x: tf.Tensor): tf.Tensor {
          return this.fc.forward(x);
        }
      }

      const dataset = new data.TensorDataset(
        tf.zeros([8, 4]),
        tf.zeros([8], "int32"),
      );

      class Lite extends LightningLite {
        override async run(args: { epochs: number }) {
          let model = new Net();
          let optimizer = new optim.SGD(model.parameters(), { lr: 0.1 });
          [model, optimizer] = this.setup(model, optimizer);
          const loader = this.setupDataloaders(
            new data.DataLoader(dataset, { batchSize: 4 }),
          );
          for (const [x, y] of loader) {
            optimizer.zeroGrad();
            const loss = F.crossEntropy(model.forward(x), y);
            this.backward(loss);
            optimizer.step();
          }
        }
      }

      await new Lite({ accelerator: "auto", devices: 1, precision: "32-true" }).run({
        epochs: 1,
      });
    `);
  });

  it("keeps the loop binding `let` while something else still writes it", async () => {
    const out = await lite(
      loop("const model = new Net();", "x = x.cuda();\nx = x.mul(2);\nconst loss = F.crossEntropy(model.forward(x), y);"),
    );
    expect(out).toBe(ts`
      import { LightningLite } from "lightning-ts";
      import { tf, nn, F, optim, data, cuda } from "lightning-ts/torch";

      class Net extends nn.Module {
        fc = new nn.Linear(4, 2);
        override forward(x: tf.Tensor): tf.Tensor {
          return this.fc.forward(x);
        }
      }

      const dataset = new data.TensorDataset(
        tf.zeros([8, 4]),
        tf.zeros([8], "int32"),
      );

      class Lite extends LightningLite {
        override async run(args: { epochs: number }) {
          let model = new Net();
          let optimizer = new optim.SGD(model.parameters(), { lr: 0.1 });
          [model, optimizer] = this.setup(model, optimizer);
          const loader = this.setupDataloaders(
            new data.DataLoader(dataset, { batchSize: 4 }),
          );
          for (let [x, y] of loader) {
            optimizer.zeroGrad();
            x = x.mul(2);
            const loss = F.crossEntropy(model.forward(x), y);
            this.backward(loss);
            optimizer.step();
          }
        }
      }

      await new Lite({ accelerator: "auto", devices: 1, precision: "32-true" }).run({
        epochs: 1,
      });
    `);
    expect(code(out)).not.toContain("cuda");
  });

  it("removes `if (cuda.isAvailable())` blocks that only move, with their else branch", async () => {
    const out = await lite(
      loop(
        ts`
          const model = new Net();
          if (cuda.isAvailable()) model.cuda();
          else model.cpu();
        `,
        ts`
          if (cuda.isAvailable()) {
            // move the batch to the GPU
            x = x.cuda();
            y = y.cuda();
          }
          const loss = F.crossEntropy(model.forward(x), y);
        `,
      ),
    );
    expect(out).toBe(ts`
      import { LightningLite } from "lightning-ts";
      import { tf, nn, F, optim, data } from "lightning-ts/torch";

      class Net extends nn.Module {
        fc = new nn.Linear(4, 2);
        override forward(x: tf.Tensor): tf.Tensor {
          return this.fc.forward(x);
        }
      }

      const dataset = new data.TensorDataset(
        tf.zeros([8, 4]),
        tf.zeros([8], "int32"),
      );

      class Lite extends LightningLite {
        override async run(args: { epochs: number }) {
          let model = new Net();
          let optimizer = new optim.SGD(model.parameters(), { lr: 0.1 });
          [model, optimizer] = this.setup(model, optimizer);
          const loader = this.setupDataloaders(
            new data.DataLoader(dataset, { batchSize: 4 }),
          );
          for (const [x, y] of loader) {
            optimizer.zeroGrad();
            const loss = F.crossEntropy(model.forward(x), y);
            this.backward(loss);
            optimizer.step();
          }
        }
      }

      await new Lite({ accelerator: "auto", devices: 1, precision: "32-true" }).run({
        epochs: 1,
      });
    `);
    expect(code(out)).not.toMatch(/cuda|cpu|GPU/);
    expect((await toLite(loop("const model = new Net();\nif (cuda.isAvailable()) model.cuda();", "const loss = F.crossEntropy(model.forward(x), y);"))).counts.deviceConditionalsRemoved).toBe(1);
  });

  it("keeps what a device `if` does besides moving", async () => {
    const out = await lite(
      loop(
        ts`
          const model = new Net();
          if (cuda.isAvailable()) {
            model.cuda();
            console.log("training on the GPU");
          }
        `,
        "const loss = F.crossEntropy(model.forward(x), y);",
      ),
    );
    expect(out).toBe(ts`
      import { LightningLite } from "lightning-ts";
      import { tf, nn, F, optim, data, cuda } from "lightning-ts/torch";

      class Net extends nn.Module {
        fc = new nn.Linear(4, 2);
        override forward(x: tf.Tensor): tf.Tensor {
          return this.fc.forward(x);
        }
      }

      const dataset = new data.TensorDataset(
        tf.zeros([8, 4]),
        tf.zeros([8], "int32"),
      );

      class Lite extends LightningLite {
        override async run(args: { epochs: number }) {
          let model = new Net();
          if (cuda.isAvailable()) {
            console.log("training on the GPU");
          }
          let optimizer = new optim.SGD(model.parameters(), { lr: 0.1 });
          [model, optimizer] = this.setup(model, optimizer);
          const loader = this.setupDataloaders(
            new data.DataLoader(dataset, { batchSize: 4 }),
          );
          for (let [x, y] of loader) {
            optimizer.zeroGrad();
            const loss = F.crossEntropy(model.forward(x), y);
            this.backward(loss);
            optimizer.step();
          }
        }
      }

      await new Lite({ accelerator: "auto", devices: 1, precision: "32-true" }).run({
        epochs: 1,
      });
    `);
  });

  it("removes `let device` with its conditional assignment and a `useCuda` flag", async () => {
    const out = await lite(
      loop(
        ts`
          const useCuda = cuda.isAvailable();
          let device = "cpu";
          if (useCuda) device = "cuda";
          const model = new Net().to(device);
        `,
        "const loss = F.crossEntropy(model.forward(x.to(device)), y.to(device));",
      ),
    );
    expect(out).toBe(ts`
      import { LightningLite } from "lightning-ts";
      import { tf, nn, F, optim, data } from "lightning-ts/torch";

      class Net extends nn.Module {
        fc = new nn.Linear(4, 2);
        override forward(x: tf.Tensor): tf.Tensor {
          return this.fc.forward(x);
        }
      }

      const dataset = new data.TensorDataset(
        tf.zeros([8, 4]),
        tf.zeros([8], "int32"),
      );

      class Lite extends LightningLite {
        override async run(args: { epochs: number }) {
          let model = new Net();
          let optimizer = new optim.SGD(model.parameters(), { lr: 0.1 });
          [model, optimizer] = this.setup(model, optimizer);
          const loader = this.setupDataloaders(
            new data.DataLoader(dataset, { batchSize: 4 }),
          );
          for (let [x, y] of loader) {
            optimizer.zeroGrad();
            const loss = F.crossEntropy(model.forward(x), y);
            this.backward(loss);
            optimizer.step();
          }
        }
      }

      await new Lite({ accelerator: "auto", devices: 1, precision: "32-true" }).run({
        epochs: 1,
      });
    `);
    expect(code(out)).not.toMatch(/device|useCuda|cuda/);
  });

  it("keeps a device variable that is still read", async () => {
    const { output, counts } = await toLite(
      loop(
        "const device = cuda.isAvailable() ? \"cuda\" : \"cpu\";\nconsole.log(`training on ${device}`);\nconst model = new Net().to(device);",
        "const loss = F.crossEntropy(model.forward(x.to(device)), y);",
      ),
    );
    expect(output).toBe(ts`
      import { LightningLite } from "lightning-ts";
      import { tf, nn, F, optim, data, cuda } from "lightning-ts/torch";

      class Net extends nn.Module {
        fc = new nn.Linear(4, 2);
        override forward(x: tf.Tensor): tf.Tensor {
          return this.fc.forward(x);
        }
      }

      const dataset = new data.TensorDataset(
        tf.zeros([8, 4]),
        tf.zeros([8], "int32"),
      );

      class Lite extends LightningLite {
        override async run(args: { epochs: number }) {
          const device = cuda.isAvailable() ? "cuda" : "cpu";
          console.log(\`training on \${device}\`);
          let model = new Net();
          let optimizer = new optim.SGD(model.parameters(), { lr: 0.1 });
          [model, optimizer] = this.setup(model, optimizer);
          const loader = this.setupDataloaders(
            new data.DataLoader(dataset, { batchSize: 4 }),
          );
          for (let [x, y] of loader) {
            optimizer.zeroGrad();
            const loss = F.crossEntropy(model.forward(x), y);
            this.backward(loss);
            optimizer.step();
          }
        }
      }

      await new Lite({ accelerator: "auto", devices: 1, precision: "32-true" }).run({
        epochs: 1,
      });
    `);
    expect(counts.deviceMovesStripped).toBe(2);
    expect(counts.deviceVariablesRemoved).toBe(0);
  });

  it("removes device parameters of helpers and the arguments passed for them", async () => {
    const out = await lite(
      script(
        ts`
          const device = cuda.isAvailable() ? "cuda" : "cpu";
          const model = new Net().to(device);
          const optimizer = new optim.SGD(model.parameters(), { lr: 0.1 });
          const loader = new data.DataLoader(dataset, { batchSize: 4 });
          for (let epoch = 0; epoch < args.epochs; epoch++) {
            train(model, loader, optimizer, device);
            console.log(evaluate(device, model, loader));
          }
        `,
        {
          prelude: ts`
            ${PRELUDE}
            function train(model: Net, loader: data.DataLoader, optimizer: optim.Optimizer, device: string) {
              for (const [x, y] of loader) {
                optimizer.zeroGrad();
                F.crossEntropy(model.forward(x.to(device)), y.to(device)).backward();
                optimizer.step();
              }
            }
            const evaluate = (dev: string, model: Net, loader: data.DataLoader) => {
              let total = 0;
              for (const [x, y] of loader) total += F.crossEntropy(model.forward(x.to(dev)), y.to(dev)).cpu().item();
              return total;
            };
          `,
        },
      ),
    );
    expect(out).toBe(ts`
      import { LightningLite } from "lightning-ts";
      import { tf, nn, F, optim, data } from "lightning-ts/torch";

      class Net extends nn.Module {
        fc = new nn.Linear(4, 2);
        override forward(x: tf.Tensor): tf.Tensor {
          return this.fc.forward(x);
        }
      }

      const dataset = new data.TensorDataset(
        tf.zeros([8, 4]),
        tf.zeros([8], "int32"),
      );
      function train(
        lite: LightningLite,
        model: Net,
        loader: data.DataLoader,
        optimizer: optim.Optimizer,
      ) {
        for (const [x, y] of loader) {
          optimizer.zeroGrad();
          lite.backward(F.crossEntropy(model.forward(x), y));
          optimizer.step();
        }
      }
      const evaluate = (model: Net, loader: data.DataLoader) => {
        let total = 0;
        for (const [x, y] of loader)
          total += F.crossEntropy(model.forward(x), y).item();
        return total;
      };

      class Lite extends LightningLite {
        override async run(args: { epochs: number }) {
          let model = new Net();
          let optimizer = new optim.SGD(model.parameters(), { lr: 0.1 });
          [model, optimizer] = this.setup(model, optimizer);
          const loader = this.setupDataloaders(
            new data.DataLoader(dataset, { batchSize: 4 }),
          );
          for (let epoch = 0; epoch < args.epochs; epoch++) {
            train(this, model, loader, optimizer);
            console.log(evaluate(model, loader));
          }
        }
      }

      await new Lite({ accelerator: "auto", devices: 1, precision: "32-true" }).run({
        epochs: 1,
      });
    `);
    expect(code(out)).not.toMatch(/device|\bdev\b|cuda/);
  });

  it("keeps a device parameter when a caller passes it something with side effects", async () => {
    const out = await lite(
      script(
        ts`
          const model = new Net();
          const optimizer = new optim.SGD(model.parameters(), { lr: 0.1 });
          step(model, optimizer, pickDevice());
        `,
        {
          prelude: ts`
            function pickDevice() { return "cpu"; }
            function step(model: Net, optimizer: optim.Optimizer, device: string) {
              F.mseLoss(model.forward(tf.ones([1, 4]).to(device)), tf.zeros([1, 2])).backward();
              optimizer.step();
            }
          `,
        },
      ),
    );
    expect(out).toBe(ts`
      import { LightningLite } from "lightning-ts";
      import { tf, nn, F, optim, data, cuda } from "lightning-ts/torch";

      class Net extends nn.Module {
        fc = new nn.Linear(4, 2);
        override forward(x: tf.Tensor): tf.Tensor {
          return this.fc.forward(x);
        }
      }

      function pickDevice() {
        return "cpu";
      }
      function step(
        lite: LightningLite,
        model: Net,
        optimizer: optim.Optimizer,
        device: string,
      ) {
        lite.backward(F.mseLoss(model.forward(tf.ones([1, 4])), tf.zeros([1, 2])));
        optimizer.step();
      }

      class Lite extends LightningLite {
        override async run(args: { epochs: number }) {
          let model = new Net();
          let optimizer = new optim.SGD(model.parameters(), { lr: 0.1 });
          [model, optimizer] = this.setup(model, optimizer);
          step(this, model, optimizer, pickDevice());
        }
      }

      await new Lite({ accelerator: "auto", devices: 1, precision: "32-true" }).run({
        epochs: 1,
      });
    `);
  });

  it("leaves an unrecognised .to(x) alone with a TODO; .to(dtype string) is no move at all", async () => {
    const { output, todos } = await toLite(
      loop("const model = new Net();\nconst other = tf.zeros([1]);", "const loss = F.crossEntropy(model.forward(x.to(other)), y.to(\"float32\"));"),
    );
    expect(output).toBe(ts`
      import { LightningLite } from "lightning-ts";
      import { tf, nn, F, optim, data, cuda } from "lightning-ts/torch";

      class Net extends nn.Module {
        fc = new nn.Linear(4, 2);
        override forward(x: tf.Tensor): tf.Tensor {
          return this.fc.forward(x);
        }
      }

      const dataset = new data.TensorDataset(
        tf.zeros([8, 4]),
        tf.zeros([8], "int32"),
      );

      class Lite extends LightningLite {
        override async run(args: { epochs: number }) {
          let model = new Net();
          const other = tf.zeros([1]);
          let optimizer = new optim.SGD(model.parameters(), { lr: 0.1 });
          [model, optimizer] = this.setup(model, optimizer);
          const loader = this.setupDataloaders(
            new data.DataLoader(dataset, { batchSize: 4 }),
          );
          for (let [x, y] of loader) {
            optimizer.zeroGrad();
            // TODO(lit-migrate): cannot tell whether \`.to(other)\` is a device move; Lite moves models and batches itself, so remove it if it is one
            const loss = F.crossEntropy(model.forward(x.to(other)), y.to("float32"));
            this.backward(loss);
            optimizer.step();
          }
        }
      }

      await new Lite({ accelerator: "auto", devices: 1, precision: "32-true" }).run({
        epochs: 1,
      });
    `);
    expect(todos).toHaveLength(1);
    expect(todos[0]!.reason).toMatch(/cannot tell whether `\.to\(other\)` is a device move/);
  });

  it("collapses `const xb = x.to(device)` aliases into the loop binding", async () => {
    const out = await lite(
      loop(
        "const device = \"cuda\";\nconst model = new Net();",
        "const inputs = x.to(device);\nconst targets = y.to(device);\nconst loss = F.crossEntropy(model.forward(inputs), targets);",
      ).replace("let [x, y]", "const [x, y]"),
    );
    expect(out).toBe(ts`
      import { LightningLite } from "lightning-ts";
      import { tf, nn, F, optim, data, cuda } from "lightning-ts/torch";

      class Net extends nn.Module {
        fc = new nn.Linear(4, 2);
        override forward(x: tf.Tensor): tf.Tensor {
          return this.fc.forward(x);
        }
      }

      const dataset = new data.TensorDataset(
        tf.zeros([8, 4]),
        tf.zeros([8], "int32"),
      );

      class Lite extends LightningLite {
        override async run(args: { epochs: number }) {
          let model = new Net();
          let optimizer = new optim.SGD(model.parameters(), { lr: 0.1 });
          [model, optimizer] = this.setup(model, optimizer);
          const loader = this.setupDataloaders(
            new data.DataLoader(dataset, { batchSize: 4 }),
          );
          for (const [inputs, targets] of loader) {
            optimizer.zeroGrad();
            const loss = F.crossEntropy(model.forward(inputs), targets);
            this.backward(loss);
            optimizer.step();
          }
        }
      }

      await new Lite({ accelerator: "auto", devices: 1, precision: "32-true" }).run({
        epochs: 1,
      });
    `);
    expect(code(out)).not.toMatch(/const inputs|const targets/);
  });

  it("collapses an alias of an object-pattern binding and keeps one read elsewhere", async () => {
    const out = await lite(
      loop(
        "const device = \"cuda\";\nconst model = new Net();",
        "const xb = x.to(device);\nconsole.log(x.shape);\nconst loss = F.crossEntropy(model.forward(xb), y);",
      ).replace("let [x, y] of loader", "const { 0: x, 1: y } of loader"),
    );
    // `x` is read twice, so `xb` stays an alias (of `x` itself).
    expect(out).toBe(ts`
      import { LightningLite } from "lightning-ts";
      import { tf, nn, F, optim, data, cuda } from "lightning-ts/torch";

      class Net extends nn.Module {
        fc = new nn.Linear(4, 2);
        override forward(x: tf.Tensor): tf.Tensor {
          return this.fc.forward(x);
        }
      }

      const dataset = new data.TensorDataset(
        tf.zeros([8, 4]),
        tf.zeros([8], "int32"),
      );

      class Lite extends LightningLite {
        override async run(args: { epochs: number }) {
          let model = new Net();
          let optimizer = new optim.SGD(model.parameters(), { lr: 0.1 });
          [model, optimizer] = this.setup(model, optimizer);
          const loader = this.setupDataloaders(
            new data.DataLoader(dataset, { batchSize: 4 }),
          );
          for (const { 0: x, 1: y } of loader) {
            optimizer.zeroGrad();
            const xb = x;
            console.log(x.shape);
            const loss = F.crossEntropy(model.forward(xb), y);
            this.backward(loss);
            optimizer.step();
          }
        }
      }

      await new Lite({ accelerator: "auto", devices: 1, precision: "32-true" }).run({
        epochs: 1,
      });
    `);
  });
});
