// `--to module` on training that is one `while (true)` / `do ... while` loop drawing its own
// batches and stopping itself (while-loop.ts). The trace equivalence runs on the real port
// fixtures/real/book_poly_regression.
import { describe, expect, it } from "vitest";
import { migrate } from "../../../src/codemods/index";
import { member, mod, ts } from "../helpers";

const body = `
    const x = tf.randomNormal([8, 3]);
    const loss = F.mseLoss(model.forward(x), tf.zeros([8, 1]));
    optimizer.zeroGrad();
    loss.backward();
    optimizer.step();
    step++;`;

const script = (loop: (body: string) => string) => ts`
  import { tf, nn, F, optim } from "lightning-ts/torch";

  const model = new nn.Linear(3, 1);
  const optimizer = new optim.SGD(model.parameters(), { lr: 0.1 });
  let step = 0;
  ${loop(body)}
`;

describe("a while loop that trains until it stops itself", () => {
  it("while (true) { ...; if (...) break; }: one step per iteration of an endless sequence, the break ends the one epoch", async () => {
    const out = await mod(script((b) => `while (true) {${b}\n    if (step >= 5) break;\n  }`));
    expect(member(out, "trainDataloader")).toMatch(/return \(function\* \(\) \{\s+for \(;;\) yield;\s+\}\)\(\);/);
    expect(member(out, "trainingStep")).toContain("if (this.step >= 5) this.endEpoch = true;");
    expect(member(out, "onTrainBatchStart")).toContain("return this.endEpoch ? -1 : undefined;");
    expect(out).toContain("await new Trainer({ maxEpochs: 1 }).fit(");
  });

  it("do { ... } while (cond): the condition tested at the end of each step", async () => {
    const out = await mod(script((b) => `do {${b}\n  } while (step < 5);`));
    expect(member(out, "trainingStep")).toContain("if (!(this.step < 5)) this.endEpoch = true;");
  });

  it("micro-steps inside the while (nanoGPT's gradient accumulation): one manual-optimisation step per iteration, the inner loop kept", async () => {
    const micro = `
    for (let micro = 0; micro < 2; micro++) {
      const x = tf.randomNormal([8, 3]);
      const loss = F.mseLoss(model.forward(x), tf.zeros([8, 1])).div(2);
      loss.backward();
    }
    optimizer.step();
    optimizer.zeroGrad();
    step++;`;
    const out = await mod(script(() => `while (true) {${micro}\n    if (step >= 5) break;\n  }`));
    expect(out).toContain("override automaticOptimization = false;");
    const step = member(out, "trainingStep");
    expect(step).toMatch(/for \(let micro = 0; micro < 2; micro\+\+\) \{[^]*this\.manualBackward\(loss\);[^]*\}\s+optimizer\.step\(\);\s+optimizer\.zeroGrad\(\);/);
    expect(step).toContain("if (this.step >= 5) this.endEpoch = true;");
  });

  it("a while (cond) that tests before each step is left to a human", async () => {
    const result = await migrate(script((b) => `while (step < 5) {${b}\n  }`), { to: "module" });
    expect(result.status).toBe("needs-human");
    expect((result as { reason: string }).reason).toMatch(/while/);
  });
});

// nanoGPT prefetches the next batch into a destructured pair declared before its loop.
const PREFETCHED = ts`
  import { tf, nn, F, optim, randn, randint } from "lightning-ts/torch";

  class Net extends nn.Module {
    fc = new nn.Linear(4, 3);
    override forward(x: tf.Tensor): tf.Tensor {
      return this.fc.forward(x);
    }
  }

  function getBatch(): [tf.Tensor, tf.Tensor] {
    return [randn([8, 4]), randint(0, 3, [8])];
  }

  const model = new Net();
  const optimizer = new optim.SGD(model.parameters(), { lr: 0.1 });
  let [X, Y] = getBatch();
  let iter = 0;
  while (true) {
    const loss = F.crossEntropy(model.forward(X), Y);
    [X, Y] = getBatch();
    loss.backward();
    optimizer.step();
    optimizer.zeroGrad();
    iter += 1;
    if (iter >= 5) break;
  }
`;

describe("a destructured pair read in several hooks (`let [X, Y] = getBatch()` before the loop)", () => {
  it("becomes one field per name, typed from the tuple the function returns, set by a destructuring assignment", async () => {
    const out = await mod(PREFETCHED);
    expect(out).toContain("private X!: tf.Tensor;");
    expect(out).toContain("private Y!: tf.Tensor;");
    expect(out).toContain("[this.X, this.Y] = getBatch();");
    expect(out).not.toMatch(/let \[X, Y\]/);
  });
});
