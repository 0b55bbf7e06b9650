// The engine: edits.ts (one splice), source.ts (parse errors), migrate.ts (outcomes, TODO
// markers, idempotence), format.ts (the user's prettier config).
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { applyEdits, EditSet, InternalError, migrate } from "../../src/codemods/index";
import { lite, script, toLite, ts } from "./helpers";

const PRELUDE = 'const dataset = new data.TensorDataset(tf.zeros([8, 4]), tf.zeros([8], "int32"));';
const BODY = ts`
  const model = new Net();
  const optimizer = new optim.SGD(model.parameters(), { lr: 0.1 });
  for (const [x, y] of new data.DataLoader(dataset)) {
    F.crossEntropy(model.forward(x), y).backward();
    optimizer.step();
  }
`;

describe("edits", () => {
  it("applies sorted edits in one splice; insertions at one offset keep priority, then order", () => {
    const text = "abcdef";
    expect(
      applyEdits(text, [
        { start: 4, end: 6, text: "XY", tag: "b" },
        { start: 1, end: 1, text: "1", tag: "a" },
        { start: 1, end: 1, text: "2", tag: "a" },
        { start: 1, end: 1, text: "0", tag: "todo", priority: -1 },
        { start: 1, end: 3, text: "", tag: "c" },
      ]),
    ).toBe("a012dXY");
  });

  it("insertions at the edges of a replaced range are not overlaps", () => {
    expect(applyEdits("abc", [{ start: 1, end: 2, text: "B", tag: "r" }, { start: 2, end: 2, text: ">", tag: "i" }, { start: 1, end: 1, text: "<", tag: "i" }])).toBe("a<B>c");
  });

  it("overlapping edits are an internal error naming both", () => {
    expect(() =>
      applyEdits("abcdef", [
        { start: 0, end: 3, text: "", tag: "first" },
        { start: 2, end: 4, text: "", tag: "second" },
      ]),
    ).toThrow(new InternalError("overlapping edits at 1:3: 'first' [0, 3) and 'second' [2, 4)"));
  });

  it("covers() answers for replaced text only", () => {
    const edits = new EditSet("abcdef");
    edits.insert(1, "x", "i");
    edits.delete(2, 4, "d");
    expect(edits.covers(1)).toBe(false);
    expect(edits.covers(2, 4)).toBe(true);
    expect(edits.covers(3, 5)).toBe(false);
  });
});

describe("outcomes", () => {
  it("a syntax error fails with its line and column", async () => {
    const src = "import { nn } from \"lightning-ts/torch\";\nconst x = ;\n";
    expect(await migrate(src, { to: "lite" })).toMatchObject({
      status: "failed",
      reason: "syntax error: Expression expected.",
      position: { line: 2, col: 11 },
      notApplicable: false,
    });
  });

  it("no training loop: a script without backward, and a file that is not a torch script", async () => {
    expect(await migrate(script("const model = new Net();"), { to: "lite" })).toMatchObject({
      status: "failed",
      reason: "no training loop found (no loss.backward() call)",
      notApplicable: true,
    });
    expect(await migrate("export const x = 1;\n", { to: "lite" })).toMatchObject({
      status: "failed",
      reason: "no training loop found (not a lightning-ts/torch script: nothing imports lightning-ts/torch)",
    });
  });

  it("backward only in a method of a class the script never builds: nothing to migrate it to", async () => {
    // (A class the script builds and calls, `new Learner().fit(...)`, is a trainer: see lite/trainer-declarations.test.ts.)
    const src = ts`
      import { nn, tf } from "lightning-ts/torch";
      class Learner {
        fit(net: nn.Module) {
          net.forward(tf.ones([1])).sum().backward();
        }
      }
      export { Learner };
    `;
    expect(await migrate(src, { to: "lite" })).toMatchObject({
      status: "failed",
      reason: "no training loop found outside classes: backward() is only called where no top-level code reaches it",
      position: { line: 4, col: 5 },
    });
  });

  it("a LightningModule script is not for --to lite, nor a LightningLite script for --to module; each is its own target's fixed point", async () => {
    const moduleScript = 'import { LightningModule } from "lightning-ts";\nclass M extends LightningModule {}\n';
    expect(await migrate(moduleScript, { to: "lite" })).toMatchObject({ status: "failed", notApplicable: true });
    expect(await migrate(moduleScript, { to: "module" })).toEqual({ status: "unchanged", reason: "already a LightningModule script: nothing to do" });
    const liteScript = await lite(script(BODY, { prelude: PRELUDE }));
    expect(await migrate(liteScript, { to: "module" })).toMatchObject({
      status: "failed",
      reason: "already a LightningLite script; --to module converts plain training scripts",
      notApplicable: true,
    });
  });

  it("idempotent: the output of a migration is unchanged by another one", async () => {
    const out = await lite(script(BODY, { prelude: PRELUDE }));
    expect(await migrate(out, { to: "lite" })).toEqual({ status: "unchanged", reason: "already a LightningLite script: nothing to do" });
  });

  it("TODO markers: one per statement and reason, none added where the marker already is", async () => {
    const body = ts`
      const model = new Net();
      const optimizer = new optim.SGD(model.parameters());
      const other = tf.ones([1]);
      for (const [x, y] of new data.DataLoader(dataset)) {
        F.crossEntropy(model.forward(x.to(other)), y.to(other)).backward();
      }
    `;
    const { output, todos } = await toLite(script(body, { prelude: PRELUDE }));
    expect(output.match(/TODO\(lit-migrate\)/g)).toHaveLength(1);
    expect(todos).toHaveLength(1);
    // Migrating the plain script again, with the marker already written above the statement
    // (someone pasted it back), adds no second one.
    const marked = script(body, { prelude: PRELUDE }).replace(
      "    F.crossEntropy(",
      `    // TODO(lit-migrate): ${todos[0]!.reason}\n    F.crossEntropy(`,
    );
    const again = await toLite(marked);
    expect(again.output.match(/TODO\(lit-migrate\)/g)).toHaveLength(1);
    expect(again.todos).toHaveLength(1);
  });

  it("--class-name must be a usable class name", async () => {
    for (const className of ["class", "my-lite", "1Lite"]) {
      expect(await migrate(script(BODY, { prelude: PRELUDE }), { to: "lite", className })).toMatchObject({
        status: "failed",
        reason: `--class-name '${className}' is not a valid class name`,
      });
    }
  });
});

describe("formatting", () => {
  const dir = mkdtempSync(join(tmpdir(), "lit-migrate-prettier-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("uses the prettier config found for the file, defaults otherwise", async () => {
    writeFileSync(join(dir, ".prettierrc.json"), JSON.stringify({ semi: false, singleQuote: true, printWidth: 120 }));
    const out = await lite(script(BODY, { prelude: PRELUDE }), { fileName: join(dir, "train.ts") });
    expect(out).toBe(ts`
      import { LightningLite } from 'lightning-ts'
      import { tf, nn, F, optim, data, cuda } from 'lightning-ts/torch'

      class Net extends nn.Module {
        fc = new nn.Linear(4, 2)
        override forward(x: tf.Tensor): tf.Tensor {
          return this.fc.forward(x)
        }
      }

      const dataset = new data.TensorDataset(tf.zeros([8, 4]), tf.zeros([8], 'int32'))

      class Lite extends LightningLite {
        override async run(args: { epochs: number }) {
          let model = new Net()
          let optimizer = new optim.SGD(model.parameters(), { lr: 0.1 })
          ;[model, optimizer] = this.setup(model, optimizer)
          for (const [x, y] of this.setupDataloaders(new data.DataLoader(dataset))) {
            this.backward(F.crossEntropy(model.forward(x), y))
            optimizer.step()
          }
        }
      }

      await new Lite({ accelerator: 'auto', devices: 1, precision: '32-true' }).run({ epochs: 1 })
    `);
    const defaults = await lite(script(BODY, { prelude: PRELUDE }));
    expect(defaults).toBe(ts`
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

  it("keeps comments", async () => {
    const out = await lite(
      script(`// build\n${BODY.replace("optimizer.step();", "optimizer.step(); // update\n/* done */")}`, { prelude: `// data\n${PRELUDE}` }),
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

      // data
      const dataset = new data.TensorDataset(
        tf.zeros([8, 4]),
        tf.zeros([8], "int32"),
      );

      class Lite extends LightningLite {
        override async run(args: { epochs: number }) {
          // build
          let model = new Net();
          let optimizer = new optim.SGD(model.parameters(), { lr: 0.1 });
          [model, optimizer] = this.setup(model, optimizer);
          for (const [x, y] of this.setupDataloaders(new data.DataLoader(dataset))) {
            this.backward(F.crossEntropy(model.forward(x), y));
            optimizer.step(); // update
            /* done */
          }
        }
      }

      await new Lite({ accelerator: "auto", devices: 1, precision: "32-true" }).run({
        epochs: 1,
      });
    `);
  });
});
