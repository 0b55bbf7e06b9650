// transforms/lite/lite-class.ts and imports.ts: where the training code goes, how it is
// started, and what is imported.
import { describe, expect, it } from "vitest";
import { migrate } from "../../../src/codemods/index";
import { lite, script, toLite, ts } from "../helpers";

const BODY = ts`
  const model = new Net();
  const optimizer = new optim.SGD(model.parameters(), { lr: 0.1 });
  for (const [x, y] of new data.DataLoader(dataset)) {
    optimizer.zeroGrad();
    F.crossEntropy(model.forward(x), y).backward();
    optimizer.step();
  }
`;
const PRELUDE = 'const dataset = new data.TensorDataset(tf.zeros([8, 4]), tf.zeros([8], "int32"));';

describe("class Lite extends LightningLite", () => {
  it("SPEC §3: main(args) becomes run(args) with its parameter type; the entry call runs it", async () => {
    const out = await lite(script(BODY, { prelude: PRELUDE, args: "args: { epochs: number; lr?: number }" }));
    // The model class stays where it was, unchanged.
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
        override async run(args: { epochs: number; lr?: number }) {
          let model = new Net();
          let optimizer = new optim.SGD(model.parameters(), { lr: 0.1 });
          [model, optimizer] = this.setup(model, optimizer);
          for (const [x, y] of this.setupDataloaders(new data.DataLoader(dataset))) {
            optimizer.zeroGrad();
            this.backward(F.crossEntropy(model.forward(x), y));
            optimizer.step();
          }
        }
      }

      await new Lite({ accelerator: "auto", devices: 1, precision: "32-true" }).run({
        epochs: 1,
      });
    `);
  });

  it("keeps comments, JSDoc, the return type and `export`", async () => {
    const src = script(BODY, { prelude: PRELUDE })
      .replace("async function main(args: { epochs: number }) {", "/** Trains the net. */\nexport async function main(args: { epochs: number }): Promise<void> {\n  // the model")
      .replace("main({ epochs: 1 });", "// go\nmain({ epochs: 1 }); // run it");
    const out = await lite(src);
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

      /** Trains the net. */
      export class Lite extends LightningLite {
        override async run(args: { epochs: number }): Promise<void> {
          // the model
          let model = new Net();
          let optimizer = new optim.SGD(model.parameters(), { lr: 0.1 });
          [model, optimizer] = this.setup(model, optimizer);
          for (const [x, y] of this.setupDataloaders(new data.DataLoader(dataset))) {
            optimizer.zeroGrad();
            this.backward(F.crossEntropy(model.forward(x), y));
            optimizer.step();
          }
        }
      }

      // go
      await new Lite({ accelerator: "auto", devices: 1, precision: "32-true" }).run({
        epochs: 1,
      }); // run it
    `);
  });

  it("arrow and function-expression mains, any name, awaited or .catch()-ed entry calls", async () => {
    const arrow = script(BODY, { prelude: PRELUDE })
      .replace("async function main(args: { epochs: number }) {", "const train = async (args: { epochs: number }) => {")
      .replace(/\n}\n\nmain\(\{ epochs: 1 \}\);/, "\n};\n\nawait train({ epochs: 1 });");
    const a = await lite(arrow);
    expect(a).toBe(ts`
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
          for (const [x, y] of this.setupDataloaders(new data.DataLoader(dataset))) {
            optimizer.zeroGrad();
            this.backward(F.crossEntropy(model.forward(x), y));
            optimizer.step();
          }
        }
      }

      await new Lite({ accelerator: "auto", devices: 1, precision: "32-true" }).run({
        epochs: 1,
      });
    `);
    expect(a).not.toContain("await await");

    const fnExpr = script(BODY, { prelude: PRELUDE })
      .replace("async function main(args: { epochs: number }) {", "const main = async function (args: { epochs: number }) {")
      .replace(/\n}\n\nmain\(\{ epochs: 1 \}\);/, "\n};\n\nmain({ epochs: 1 }).catch((e) => console.error(e));");
    const b = await lite(fnExpr);
    expect(b).toBe(ts`
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
          for (const [x, y] of this.setupDataloaders(new data.DataLoader(dataset))) {
            optimizer.zeroGrad();
            this.backward(F.crossEntropy(model.forward(x), y));
            optimizer.step();
          }
        }
      }

      new Lite({ accelerator: "auto", devices: 1, precision: "32-true" })
        .run({ epochs: 1 })
        .catch((e) => console.error(e));
    `);
  });

  it("a synchronous main stays synchronous", async () => {
    const out = await lite(script(BODY, { prelude: PRELUDE }).replace("async function main", "function main"));
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
        override run(args: { epochs: number }) {
          let model = new Net();
          let optimizer = new optim.SGD(model.parameters(), { lr: 0.1 });
          [model, optimizer] = this.setup(model, optimizer);
          for (const [x, y] of this.setupDataloaders(new data.DataLoader(dataset))) {
            optimizer.zeroGrad();
            this.backward(F.crossEntropy(model.forward(x), y));
            optimizer.step();
          }
        }
      }

      await new Lite({ accelerator: "auto", devices: 1, precision: "32-true" }).run({
        epochs: 1,
      });
    `);
  });

  it("--class-name, and a fresh name when Lite is taken", async () => {
    const named = await lite(script(BODY, { prelude: PRELUDE }), { className: "Trainer" });
    expect(named).toBe(ts`
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

      class Trainer extends LightningLite {
        override async run(args: { epochs: number }) {
          let model = new Net();
          let optimizer = new optim.SGD(model.parameters(), { lr: 0.1 });
          [model, optimizer] = this.setup(model, optimizer);
          for (const [x, y] of this.setupDataloaders(new data.DataLoader(dataset))) {
            optimizer.zeroGrad();
            this.backward(F.crossEntropy(model.forward(x), y));
            optimizer.step();
          }
        }
      }

      await new Trainer({
        accelerator: "auto",
        devices: 1,
        precision: "32-true",
      }).run({ epochs: 1 });
    `);
    const taken = await lite(script(BODY, { prelude: `${PRELUDE}\nconst Lite = 1;` }));
    expect(taken).toBe(ts`
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
      const Lite = 1;

      class Lite2 extends LightningLite {
        override async run(args: { epochs: number }) {
          let model = new Net();
          let optimizer = new optim.SGD(model.parameters(), { lr: 0.1 });
          [model, optimizer] = this.setup(model, optimizer);
          for (const [x, y] of this.setupDataloaders(new data.DataLoader(dataset))) {
            optimizer.zeroGrad();
            this.backward(F.crossEntropy(model.forward(x), y));
            optimizer.step();
          }
        }
      }

      await new Lite2({ accelerator: "auto", devices: 1, precision: "32-true" }).run({
        epochs: 1,
      });
    `);
    const clash = await migrate(script(BODY, { prelude: PRELUDE }), { to: "lite", className: "Net" });
    expect(clash).toMatchObject({ status: "failed", reason: "--class-name 'Net' is already declared in this file; choose another name" });
  });

  it("a script without main: the training statements are wrapped in place", async () => {
    const src = ts`
      import { tf, nn, F, optim, data, manualSeed } from "lightning-ts/torch";

      manualSeed(0);
      class Net extends nn.Module {
        fc = new nn.Linear(4, 2);
      }
      const dataset = new data.TensorDataset(tf.zeros([8, 4]), tf.zeros([8], "int32"));
      // training
      const model = new Net().to("cuda");
      const optimizer = new optim.SGD(model.parameters(), { lr: 0.1 });
      for (const [x, y] of new data.DataLoader(dataset)) {
        F.crossEntropy(model.forward(x), y).backward();
        optimizer.step();
      }
      console.log("done");

      function unused() {}
    `;
    const { output, notes } = await toLite(src);
    expect(output).toBe(ts`
      import { LightningLite } from "lightning-ts";
      import { tf, nn, F, optim, data, manualSeed } from "lightning-ts/torch";

      manualSeed(0);
      class Net extends nn.Module {
        fc = new nn.Linear(4, 2);
      }
      const dataset = new data.TensorDataset(
        tf.zeros([8, 4]),
        tf.zeros([8], "int32"),
      );
      // training
      class Lite extends LightningLite {
        override async run() {
          let model = new Net();
          let optimizer = new optim.SGD(model.parameters(), { lr: 0.1 });
          [model, optimizer] = this.setup(model, optimizer);
          for (const [x, y] of this.setupDataloaders(new data.DataLoader(dataset))) {
            this.backward(F.crossEntropy(model.forward(x), y));
            optimizer.step();
          }
          console.log("done");
        }
      }

      await new Lite({ accelerator: "auto", devices: 1, precision: "32-true" }).run();

      function unused() {}
    `);
    expect(notes[0]).toMatch(/^top-level training code \(lines 9–15\) → Lite\.run\(\)/);
  });

  it("a script without main that calls a training helper in its epoch loop: the helper stays a helper", async () => {
    const src = ts`
      import { tf, nn, F, optim, data } from "lightning-ts/torch";
      function trainEpoch(model: nn.Module, loader: data.DataLoader, optimizer: optim.Optimizer) {
        for (const [x, y] of loader) {
          F.mseLoss(model.forward(x), y).backward();
          optimizer.step();
        }
      }
      const model = new nn.Linear(4, 1);
      const optimizer = new optim.SGD(model.parameters());
      const loader = new data.DataLoader(new data.TensorDataset(tf.ones([4, 4]), tf.ones([4, 1])));
      for (let epoch = 0; epoch < 2; epoch++) trainEpoch(model, loader, optimizer);
    `;
    const out = await lite(src);
    expect(out).toBe(ts`
      import { LightningLite } from "lightning-ts";
      import { tf, nn, F, optim, data } from "lightning-ts/torch";
      function trainEpoch(
        lite: LightningLite,
        model: nn.Module,
        loader: data.DataLoader,
        optimizer: optim.Optimizer,
      ) {
        for (const [x, y] of loader) {
          lite.backward(F.mseLoss(model.forward(x), y));
          optimizer.step();
        }
      }
      class Lite extends LightningLite {
        override async run() {
          let model = new nn.Linear(4, 1);
          let optimizer = new optim.SGD(model.parameters());
          [model, optimizer] = this.setup(model, optimizer);
          const loader = this.setupDataloaders(
            new data.DataLoader(
              new data.TensorDataset(tf.ones([4, 4]), tf.ones([4, 1])),
            ),
          );
          for (let epoch = 0; epoch < 2; epoch++)
            trainEpoch(this, model, loader, optimizer);
        }
      }

      await new Lite({ accelerator: "auto", devices: 1, precision: "32-true" }).run();
    `);
  });

  it("refuses a script whose training variables are used outside the training code", async () => {
    const src = ts`
      import { tf, nn, F, optim, data } from "lightning-ts/torch";
      function report() { console.log(model.training); }
      const model = new nn.Linear(4, 2);
      const optimizer = new optim.SGD(model.parameters());
      F.mseLoss(model.forward(tf.ones([1, 4])), tf.zeros([1, 2])).backward();
      report();
    `;
    expect(await migrate(src, { to: "lite" })).toMatchObject({
      status: "failed",
      reason: "unsupported: model is declared in the training code (line 3) but used outside it; put the training code in a main() function first",
      position: { line: 2, col: 33 },
    });
  });

  it("refuses a main that is also called from inside a function", async () => {
    const src = script(BODY, { prelude: PRELUDE }) + "function again() {\n  return main({ epochs: 2 });\n}\n";
    expect(await migrate(src, { to: "lite" })).toMatchObject({
      status: "failed",
      reason: "unsupported: main is also called from inside a function (line 24); it becomes Lite.run()",
      position: { line: 24, col: 10 },
    });
  });

  it("refuses a main used other than by calling it", async () => {
    const src = script(BODY, { prelude: PRELUDE }) + "export { main };\n";
    expect(await migrate(src, { to: "lite" })).toMatchObject({
      status: "failed",
      reason: "unsupported: main is used at line 23 besides being called; it becomes Lite.run()",
      position: { line: 23, col: 10 },
    });
  });
});

describe("imports", () => {
  it("named: adds LightningLite first, drops only the names the migration made unused", async () => {
    const out = await lite(
      script(`const device = cuda.isAvailable() ? "cuda" : "cpu";\n${BODY.replace("new Net()", "new Net().to(device)")}`, {
        imports: "tf, nn, F, optim, data, cuda, manualSeed",
        prelude: PRELUDE,
      }),
    );
    expect(out).toBe(ts`
      import { LightningLite } from "lightning-ts";
      import { tf, nn, F, optim, data, manualSeed } from "lightning-ts/torch";

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
          for (const [x, y] of this.setupDataloaders(new data.DataLoader(dataset))) {
            optimizer.zeroGrad();
            this.backward(F.crossEntropy(model.forward(x), y));
            optimizer.step();
          }
        }
      }

      await new Lite({ accelerator: "auto", devices: 1, precision: "32-true" }).run({
        epochs: 1,
      });
    `);
  });

  it("aliased names are resolved through their alias", async () => {
    const src = ts`
      import { tf, nn as N, F as Fn, optim as O, data as D, cuda as C, save as torchSave } from "lightning-ts/torch";
      class Net extends N.Module {}
      async function main() {
        const device = C.isAvailable() ? "cuda" : "cpu";
        const model = new Net().to(device);
        const opt = new O.SGD(model.parameters());
        for (const [x, y] of new D.DataLoader(new D.TensorDataset(tf.ones([2, 2]), tf.ones([2])))) {
          Fn.mseLoss(model.forward(x), y).backward();
          opt.step();
        }
        await torchSave(model.stateDict(), "m.bin");
      }
      main();
    `;
    const { output, counts } = await toLite(src);
    expect(output).toBe(ts`
      import { LightningLite } from "lightning-ts";
      import {
        tf,
        nn as N,
        F as Fn,
        optim as O,
        data as D,
      } from "lightning-ts/torch";
      class Net extends N.Module {}
      class Lite extends LightningLite {
        override async run() {
          let model = new Net();
          let opt = new O.SGD(model.parameters());
          [model, opt] = this.setup(model, opt);
          for (const [x, y] of this.setupDataloaders(
            new D.DataLoader(new D.TensorDataset(tf.ones([2, 2]), tf.ones([2]))),
          )) {
            this.backward(Fn.mseLoss(model.forward(x), y));
            opt.step();
          }
          await this.save(model.stateDict(), "m.bin");
        }
      }
      await new Lite({ accelerator: "auto", devices: 1, precision: "32-true" }).run();
    `);
    expect(counts).toMatchObject({ deviceMovesStripped: 1, deviceVariablesRemoved: 1, importsRemoved: 2 });
  });

  it("a namespace import: torch.nn.Module, torch.cuda.isAvailable(), torch.save", async () => {
    const src = ts`
      import * as torch from "lightning-ts/torch";
      class Net extends torch.nn.Module {}
      async function main() {
        const model = new Net();
        if (torch.cuda.isAvailable()) model.cuda();
        const opt = new torch.optim.Adam(model.parameters());
        const loader = new torch.data.DataLoader(new torch.data.TensorDataset(torch.tf.ones([2, 2])));
        for (const [x] of loader) {
          model.forward(x).sum().backward();
          opt.step();
        }
        torch.save(model.stateDict(), "m.bin");
      }
      main();
    `;
    const out = await lite(src);
    expect(out).toBe(ts`
      import { LightningLite } from "lightning-ts";
      import * as torch from "lightning-ts/torch";
      class Net extends torch.nn.Module {}
      class Lite extends LightningLite {
        override async run() {
          let model = new Net();
          let opt = new torch.optim.Adam(model.parameters());
          [model, opt] = this.setup(model, opt);
          const loader = this.setupDataloaders(
            new torch.data.DataLoader(
              new torch.data.TensorDataset(torch.tf.ones([2, 2])),
            ),
          );
          for (const [x] of loader) {
            this.backward(model.forward(x).sum());
            opt.step();
          }
          this.save(model.stateDict(), "m.bin");
        }
      }
      await new Lite({ accelerator: "auto", devices: 1, precision: "32-true" }).run();
    `);
    expect(out).not.toContain("cuda");
  });

  it("merges into an existing lightning-ts import; relative torch imports get the relative runtime", async () => {
    const merged = await lite(script(BODY, { prelude: PRELUDE }).replace(/^/, 'import { seedEverything } from "lightning-ts";\n'));
    expect(merged).toBe(ts`
      import { seedEverything, LightningLite } from "lightning-ts";
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
          for (const [x, y] of this.setupDataloaders(new data.DataLoader(dataset))) {
            optimizer.zeroGrad();
            this.backward(F.crossEntropy(model.forward(x), y));
            optimizer.step();
          }
        }
      }

      await new Lite({ accelerator: "auto", devices: 1, precision: "32-true" }).run({
        epochs: 1,
      });
    `);
    const relative = await lite(script(BODY, { prelude: PRELUDE }).replace('"lightning-ts/torch"', '"../../src/torch/index"'));
    expect(relative).toBe(ts`
      import { LightningLite } from "../../src/runtime/index";
      import { tf, nn, F, optim, data, cuda } from "../../src/torch/index";

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
          for (const [x, y] of this.setupDataloaders(new data.DataLoader(dataset))) {
            optimizer.zeroGrad();
            this.backward(F.crossEntropy(model.forward(x), y));
            optimizer.step();
          }
        }
      }

      await new Lite({ accelerator: "auto", devices: 1, precision: "32-true" }).run({
        epochs: 1,
      });
    `);
  });

  it("a torch import left with no names is removed", async () => {
    const src = ts`
      import { nn } from "lightning-ts/torch";
      import { cuda } from "lightning-ts/torch";
      const net = new nn.Linear(2, 1);
      async function main() {
        if (cuda.isAvailable()) net.cuda();
        net.forward(net.weight).sum().backward();
      }
      main();
    `;
    const out = await lite(src);
    expect(out).toBe(ts`
      import { LightningLite } from "lightning-ts";
      import { nn } from "lightning-ts/torch";
      const net = new nn.Linear(2, 1);
      class Lite extends LightningLite {
        override async run() {
          this.backward(net.forward(net.weight).sum());
        }
      }
      await new Lite({ accelerator: "auto", devices: 1, precision: "32-true" }).run();
    `);
  });
});
