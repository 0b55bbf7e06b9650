// lit-migrate's check of its own output (src/codemods/self-check.ts): each error class a transform
// can introduce is found, what was already in the input is not blamed on the migration, and the
// target's shape is required.
import { describe, expect, it } from "vitest";
import { selfCheck } from "../../src/codemods/self-check";
import { ts } from "./helpers";

const INPUT = ts`
  import { nn, optim } from "lightning-ts/torch";
  function step(loss: { backward(): void }, opt: optim.Optimizer) {
    opt.zeroGrad();
    loss.backward();
    opt.step();
  }
  async function main() {
    const model = new nn.Linear(2, 2);
    const epochs = 2;
    for (let e = 0; e < epochs; e++) console.log(model, e);
  }
  main();
`;

describe("selfCheck", () => {
  it("accepts an output that binds every name", () => {
    expect(selfCheck(INPUT, INPUT, null)).toBeNull();
  });

  it("finds `this` in a free function (a helper given this.manualBackward)", () => {
    const out = INPUT.replace("loss.backward();", "this.manualBackward(loss);");
    expect(selfCheck(INPUT, out, null)).toEqual({ position: { line: 4, col: 3 }, reason: "`this` outside a class" });
  });

  it("finds a name moved out of its declaration's scope", () => {
    const out = INPUT.replace("  const epochs = 2;\n", "").replace("main();", "main();\nconsole.log(epochs);\nconst epochs2 = 2;");
    expect(selfCheck(INPUT, out, null)?.reason).toBe("`epochs` is used where no declaration of it reaches");
  });

  it("finds a use before its declaration in straight-line code, but not inside a function that runs later", () => {
    const out = INPUT.replace("  const model = new nn.Linear(2, 2);\n  const epochs = 2;\n", "  console.log(epochs);\n  const epochs = 2;\n  const model = new nn.Linear(2, 2);\n");
    expect(selfCheck(INPUT, out, null)?.reason).toBe("`epochs` is used before its declaration");
    const later = INPUT.replace("main();", "main();\nfunction late() {\n  return lateValue;\n}\nconst lateValue = 1;\nlate();");
    expect(selfCheck(INPUT, later, null)).toBeNull();
  });

  it("finds a name declared twice in one scope (`const hparams = hparams;` beside main's own)", () => {
    const out = INPUT.replace("  const epochs = 2;\n", "  const epochs = 2;\n  const epochs = 3;\n");
    expect(selfCheck(INPUT, out, null)?.reason).toBe("`epochs` is declared twice in one scope");
    const shadow = INPUT.replace("  const epochs = 2;\n", "  const epochs = 2;\n  {\n    const epochs = 3;\n  }\n");
    expect(selfCheck(INPUT, shadow, null)).toBeNull();
  });

  it("finds `await` in a function that is not async", () => {
    const out = INPUT.replace("opt.step();", "await opt.step();");
    expect(selfCheck(INPUT, out, null)?.reason).toBe("`await` in a function that is not async");
  });

  it("does not blame the migration for what the input already got wrong", () => {
    const broken = INPUT.replace("console.log(model, e);", "console.log(model, e, undeclared, this);");
    expect(selfCheck(broken, broken, null)).toBeNull();
  });

  it("reports an output that does not parse, at its place", () => {
    expect(selfCheck(INPUT, INPUT.replace("opt.step();", "opt.step(;"), null)?.reason).toMatch(/^the output does not parse/);
  });

  it("requires the target's shape: the class, its base, its method and what runs it", () => {
    const lite = ts`
      import { LightningLite } from "lightning-ts";
      class Lite extends LightningLite {
        override async run() {}
      }
      await new Lite({}).run();
    `;
    expect(selfCheck(lite, lite, { target: "lite", className: "Lite" })).toBeNull();
    expect(selfCheck(lite, lite, { target: "lite", className: "Other" })?.reason).toBe("the output has no class Other");
    expect(selfCheck(lite, lite, { target: "module", className: "Lite" })?.reason).toBe("class Lite does not extend LightningModule");
    const notRun = lite.replace("await new Lite({}).run();", "");
    expect(selfCheck(notRun, notRun, { target: "lite", className: "Lite" })?.reason).toBe("nothing runs Lite.run()");
    const mod = ts`
      import { LightningModule, Trainer } from "lightning-ts";
      class NetModule extends LightningModule {
        override trainingStep() {}
      }
      await new Trainer({}).fit(new NetModule());
    `;
    expect(selfCheck(mod, mod, { target: "module", className: "NetModule" })).toBeNull();
    const unfitted = mod.replace(".fit(new NetModule())", "");
    expect(selfCheck(unfitted, unfitted, { target: "module", className: "NetModule" })?.reason).toBe("no trainer.fit(...) call");
  });
});
