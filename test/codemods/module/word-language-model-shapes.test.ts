// `--to module` on the shapes of pytorch/examples word_language_model (the whole port is
// fixtures/real/word_language_model, whose module output trains with the plain losses): an epoch
// loop inside try/catch with its counter declared outside (a global the training function
// reads), an optimizer only some runs create, a model of a union type, a hidden state declared
// with `!`, a learning rate from the parsed arguments annealed per epoch.
import { describe, expect, it } from "vitest";
import { member, mod, ts } from "../helpers";

const SCRIPT = ts`
  import { tf, nn, F, optim, manualSeed } from "lightning-ts/torch";

  class A extends nn.Module {
    fc = new nn.Linear(4, 2);
    override forward(x: tf.Tensor, h: tf.Tensor): [tf.Tensor, tf.Tensor] {
      return [this.fc.forward(x), h];
    }
  }
  class B extends nn.Module {
    fc = new nn.Linear(4, 2);
    override forward(x: tf.Tensor): tf.Tensor {
      return this.fc.forward(x);
    }
  }

  const args = { lr: Number("0.5"), useOptimizer: false, epochs: 2, useA: true };
  manualSeed(0);
  const x = tf.randomNormal([32, 4]);
  const y = tf.zeros([32], "int32");
  let model: A | B;
  if (args.useA) model = new A();
  else model = new B();
  let optimizer!: optim.AdamW;
  if (args.useOptimizer) {
    optimizer = new optim.AdamW(model.parameters(), { lr: args.lr });
  }

  function train(): void {
    let hidden!: tf.Tensor;
    for (let batch = 0, i = 0; i < 32; batch++, i += 8) {
      if (args.useOptimizer) optimizer.zeroGrad();
      else model.zeroGrad();
      let out: tf.Tensor;
      if (model instanceof A) [out, hidden] = model.forward(x.slice(i, 8), tf.zeros([1]));
      else out = (model as B).forward(x.slice(i, 8));
      const loss = F.crossEntropy(out, y.slice(i, 8));
      loss.backward();
      if (args.useOptimizer) optimizer.step();
      else for (const p of model.parameters()) p.assign(p.add(p.grad!.mul(-lr)));
      console.log(epoch, batch, loss.item());
    }
  }

  class Stop extends Error {}
  let lr = args.lr;
  let epoch: number;
  try {
    for (epoch = 1; epoch <= args.epochs; epoch++) {
      train();
      lr /= 4;
    }
  } catch (e) {
    if (!(e instanceof Stop)) throw e;
    console.log("stopped early");
  }
`;

describe("word_language_model's shapes", () => {
  it("fits inside the script's own try/catch, with the counter it declared outside", async () => {
    const out = await mod(SCRIPT);
    expect(out).toMatch(/try \{\s+await new Trainer\(\{ maxEpochs: args\.epochs \}\)\.fit\(new \w+\(\)\);\s+\} catch \(e\) \{\s+if \(!\(e instanceof Stop\)\) throw e;\s+console\.log\("stopped early"\);\s+\}/);
    expect(out).not.toMatch(/let epoch: number;/);
    expect(member(out, "trainingStep")).toContain("this.print(this.currentEpoch + 1, batch, loss.item());");
  });

  it("returns the optimizer only some runs create (or nothing), and steps by hand otherwise (manual optimisation)", async () => {
    const out = await mod(SCRIPT);
    const conf = member(out, "configureOptimizers")!;
    expect(conf).toMatch(/let optimizer!: optim\.AdamW;\s+if \(args\.useOptimizer\) \{\s+optimizer = new optim\.AdamW\(this\.parameters\(\), \{ lr: args\.lr \}\);\s+\}\s+return optimizer;/);
    expect(out).toContain("override automaticOptimization = false;");
    const step = member(out, "trainingStep")!;
    expect(step).toContain("const optimizer = this.optimizers();");
    expect(step).toContain("p.assign(p.add(p.grad!.mul(-this.lr)));");
  });

  it("types what it can: no forward for a union model, `undefined!` for a `!` variable, a number for args.lr", async () => {
    const out = await mod(SCRIPT);
    expect(member(out, "forward")).toBeNull();
    expect(out).toContain("this.hidden = undefined!;");
    expect(out).toContain("private lr!: number;");
    expect(out).not.toContain("TODO(lit-migrate)");
  });
});
