// analysis/*: what the one analysis pass finds in a plain script (shared by --to lite and
// --to module).
import { describe, expect, it } from "vitest";
import { analyzeScript, parseScript, type ScriptAnalysis } from "../../../src/codemods/index";
import { ts } from "../helpers";

const SCRIPT = ts`
  import { tf, nn, F, optim as O, data, cuda, noGrad, save } from "lightning-ts/torch";

  class Base extends nn.Module {}
  class Net extends Base {
    fc = new nn.Linear(4, 2);
  }
  class NotAModel {}

  function evaluate(model: Net, loader: data.DataLoader, dev: string) {
    model.eval();
    noGrad(() => {
      for (const [x] of loader) model.forward(x.to(dev));
    });
  }

  async function main(args: { epochs: number }) {
    const device = cuda.isAvailable() ? "cuda:0" : "cpu";
    const model = new Net().to(device);
    const helper = new NotAModel();
    const optimizer = new O.Adam(model.parameters(), { lr: 1e-3 });
    const scheduler = new O.lrScheduler.StepLR(optimizer, { stepSize: 1 });
    const ds = new data.TensorDataset(tf.zeros([8, 4]), tf.zeros([8]));
    const trainLoader = new data.DataLoader(ds, { batchSize: 4 });
    const valLoader = new data.DataLoader(ds, { batchSize: 4 });
    if (cuda.isAvailable()) model.cuda();
    for (let epoch = 0; epoch < args.epochs; epoch++) {
      model.train();
      for (const [x, y] of trainLoader) {
        optimizer.zeroGrad();
        const loss = F.crossEntropy(model.forward(x.to(device)), y.to(device));
        loss.backward();
        optimizer.step();
        console.log(loss.cpu().item());
      }
      scheduler.step();
      evaluate(model, valLoader, device);
    }
    await save(model.stateDict(), "m.bin");
  }

  main({ epochs: 1 });
`;

function analyze(text: string): ScriptAnalysis {
  return analyzeScript(parseScript(text));
}

describe("analyzeScript", () => {
  const a = analyze(SCRIPT);
  const line = (n: { getStartLineNumber(): number }) => n.getStartLineNumber();

  it("finds the torch import with its names", () => {
    expect(a.torchImport?.moduleSpecifier).toBe("lightning-ts/torch");
    expect([...a.torchImport!.named]).toEqual([
      ["tf", "tf"], ["nn", "nn"], ["F", "F"], ["O", "optim"], ["data", "data"], ["cuda", "cuda"], ["noGrad", "noGrad"], ["save", "save"],
    ]);
    expect(a.alreadyMigrated).toBeNull();
  });

  it("finds model classes (also through a local base), model instances, optimizers, schedulers, loaders", () => {
    expect(a.modelClasses.map((c) => c.getName())).toEqual(["Base", "Net"]);
    expect(a.models.map((m) => [m.name, m.className])).toEqual([["model", "Net"]]);
    expect(a.optimizers.map((o) => [o.name, o.className, o.models.map((m) => m.name)])).toEqual([["optimizer", "Adam", ["model"]]]);
    expect(a.schedulers.map((s) => [s.name, s.className, s.optimizer?.name])).toEqual([["scheduler", "StepLR", "optimizer"]]);
    expect(a.dataloaders.map((d) => d.name)).toEqual(["trainLoader", "valLoader"]);
  });

  it("finds the entry function, the training loop with its epoch loop, and the eval loop", () => {
    expect(a.entry?.kind).toBe("function");
    expect(a.entry?.kind === "function" && a.entry.fn.name).toBe("main");
    expect(a.entry?.kind === "function" && a.entry.calls.map(line)).toEqual([41]);
    expect(a.trainingLoops).toHaveLength(1);
    const loop = a.trainingLoops[0]!;
    expect([line(loop.batchLoop), loop.epochLoop && line(loop.epochLoop), loop.loader.getText()]).toEqual([28, 26, "trainLoader"]);
    expect(loop.backward.map((b) => b.loss.getText())).toEqual(["loss"]);
    expect(a.zeroGradCalls.map(line)).toEqual([29]);
    expect(a.stepCalls.map(line)).toEqual([32]);
    expect(a.evalLoops.map((l) => [line(l.loop), l.kind, l.underNoGrad, l.underEvalMode])).toEqual([[12, "eval", true, true]]);
    expect(a.functions.map((f) => [f.name, f.calls.length])).toEqual([["evaluate", 1], ["main", 1]]);
  });

  it("finds every device form", () => {
    expect(a.deviceVariables.map((v) => v.name)).toEqual(["device"]);
    expect(a.deviceMoves.map((m) => [m.form, m.receiver.getText(), m.recognized])).toEqual([
      ["to", "x", true],
      ["to", "new Net()", true],
      ["cuda", "model", true],
      ["to", "x", true],
      ["to", "y", true],
      ["cpu", "loss", true],
    ]);
    expect(a.deviceConditionals.map(line)).toEqual([25]);
    expect(a.deviceParameters.map((p) => [p.fn.name, p.parameter.getName(), p.index])).toEqual([["evaluate", "dev", 2]]);
    expect(a.checkpointCalls.map((c) => c.kind)).toEqual(["save"]);
  });

  it("resolves names through a namespace import and ignores shadowing locals", () => {
    const b = analyze(ts`
      import * as torch from "lightning-ts/torch";
      function save(x: unknown) { return x; }
      const cuda = { isAvailable: () => true };
      async function main() {
        const net = new torch.nn.Linear(2, 1);
        const opt = new torch.optim.SGD(net.parameters());
        if (cuda.isAvailable()) net.cuda();
        net.forward(torch.tf.ones([1, 2])).sum().backward();
        save(net);
        torch.save(net.stateDict(), "n.bin");
      }
      main();
    `);
    expect(b.torchImport?.namespaces).toEqual(["torch"]);
    expect(b.models.map((m) => m.name)).toEqual(["net"]);
    expect(b.optimizers.map((o) => o.className)).toEqual(["SGD"]);
    expect(b.checkpointCalls.map((c) => c.call.getText())).toEqual(['torch.save(net.stateDict(), "n.bin")']);
    // `cuda` here is a local object, so its `if` is not a device condition.
    expect(b.deviceConditionals).toHaveLength(0);
  });

  it("falls back to the top-level statements when there is no main", () => {
    const c = analyze(ts`
      import { nn, tf } from "lightning-ts/torch";
      class Net extends nn.Module {}
      const net = new nn.Linear(2, 1);
      for (let i = 0; i < 3; i++) net.forward(tf.ones([1, 2])).sum().backward();
      console.log("done");
      function later() {}
    `);
    expect(c.entry?.kind).toBe("script");
    expect(c.entry?.kind === "script" && c.entry.statements.map((s) => s.getStartLineNumber())).toEqual([3, 4, 5]);
  });

  it("notices a script that is already migrated", () => {
    expect(analyze('import { LightningLite } from "lightning-ts";\nclass L extends LightningLite {}\n').alreadyMigrated).toBe("lite");
  });
});
