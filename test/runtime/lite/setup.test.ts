import { describe, it, expect, beforeAll } from "vitest";
import { MisconfigurationError, isWrapped, unwrap, Precision, type PrecisionName } from "lightning-ts";
import { tf, nn, optim, F, manualSeed } from "lightning-ts/torch";
import { usePureJsCpu, Net, TestLite, batch, labels, snapshot } from "../helpers";

describe("LightningLite.setup", () => {
  beforeAll(usePureJsCpu);

  it("returns wrappers with the inputs' static types that behave like the originals", () => {
    const lite = new TestLite();
    manualSeed(1);
    let model = new Net();
    let optimizer = new optim.Adam(model.parameters(), { lr: 1e-2 });
    const original = model;
    // The SPEC's pattern: reassigning keeps `Net` and `optim.Adam` (this line must type-check).
    [model, optimizer] = lite.setup(model, optimizer);
    const typed: [Net, optim.Adam] = [model, optimizer];
    expect(typed).toHaveLength(2);

    expect(model).not.toBe(original);
    expect(model).toBeInstanceOf(Net);
    expect(optimizer).toBeInstanceOf(optim.Adam);
    expect(isWrapped(model) && isWrapped(optimizer)).toBe(true);
    expect(unwrap(model)).toBe(original);
    // Same parameters (the very same variables), same names, same submodules.
    expect(model.parameters()).toEqual(original.parameters());
    expect(model.parameters()[0]).toBe(original.parameters()[0]);
    expect([...model.namedParameters()].map(([n]) => n)).toEqual(["fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias"]);
    expect(model.fc1).toBe(original.fc1);
    // Forward and other methods compute the same thing.
    const x = batch(4, 6);
    expect(Array.from(model.forward(x).dataSync())).toEqual(Array.from(original.forward(x).dataSync()));
    expect(Array.from(model.double(x).dataSync())).toEqual(Array.from(original.double(x).dataSync()));
    // Methods returning the module return the wrapper, so chaining keeps it.
    expect(model.eval()).toBe(model);
    expect(original.training).toBe(false);
    expect(model.train()).toBe(model);
    expect(original.training && model.training).toBe(true);
    // Property writes reach the original.
    (model as unknown as { tag: string }).tag = "x";
    expect((original as unknown as { tag: string }).tag).toBe("x");
    expect(optimizer.paramGroups[0].lr).toBe(1e-2);
  });

  it("optimizer.step() through Lite changes weights exactly like the bare loop", () => {
    const steps = 5;
    const run = (useLite: boolean): number[][] => {
      manualSeed(7);
      let model = new Net();
      let optimizer = new optim.Adam(model.parameters(), { lr: 1e-2 });
      const lite = new TestLite();
      if (useLite) [model, optimizer] = lite.setup(model, optimizer);
      for (let i = 0; i < steps; i++) {
        optimizer.zeroGrad();
        const loss = F.crossEntropy(model.forward(batch(8, 6, i)), labels(8, 3, i));
        if (useLite) lite.backward(loss);
        else loss.backward();
        optimizer.step();
      }
      return snapshot(unwrap(model).parameters());
    };
    const plain = run(false);
    const lite = run(true);
    expect(lite).toEqual(plain);
    // And the weights did move.
    manualSeed(7);
    expect(snapshot(new Net().parameters())).not.toEqual(plain);
  });

  it("setup with several optimizers returns a tuple of all of them, typed", () => {
    const lite = new TestLite();
    const model = new Net();
    const a = new optim.SGD(model.fc1.parameters(), { lr: 0.1 });
    const b = new optim.RMSprop(model.fc2.parameters(), { lr: 0.01 });
    const [m, oa, ob]: [Net, optim.SGD, optim.RMSprop] = lite.setup(model, a, b);
    expect(unwrap(m)).toBe(model);
    expect(unwrap(oa)).toBe(a);
    expect(unwrap(ob)).toBe(b);
    // setup with no optimizer (inference) returns the model alone in the tuple.
    const [only] = new TestLite().setup(new Net());
    expect(only).toBeInstanceOf(Net);
  });

  it("refuses what is already set up, and what is not a model or an optimizer", () => {
    const lite = new TestLite();
    const model = new Net();
    const opt = new optim.SGD(model.parameters(), { lr: 0.1 });
    const [m, o] = lite.setup(model, opt);
    expect(() => lite.setup(m)).toThrow(MisconfigurationError);
    expect(() => lite.setup(m)).toThrow("setup(): this model is already set up; pass each model once");
    expect(() => lite.setup(new Net(), o)).toThrow("setup(): optimizer #1 is already set up");
    expect(() => lite.setup({} as never)).toThrow("setup(): the model must be an nn.Module, got an object");
    expect(() => lite.setup(new Net(), tf.train.adam(0.1) as never)).toThrow(
      "setup(): optimizer #1 must be an optim.Optimizer, got an AdamOptimizer",
    );
  });

  it("routes forward, backward and step through the precision plugin", () => {
    const calls: string[] = [];
    // A plugin that records each hook and scales the loss by 4 then unscales before the step:
    // the update must come out as without it.
    class Recording extends Precision {
      readonly name: PrecisionName = "32-true";
      override convertInput<T>(data: T): T {
        calls.push("convertInput");
        return data;
      }
      override forwardContext<T>(fn: () => T): T {
        calls.push("forwardContext");
        return fn();
      }
      override convertOutput<T>(data: T): T {
        calls.push("convertOutput");
        return data;
      }
      override preBackward(loss: tf.Tensor): tf.Tensor {
        calls.push("preBackward");
        return loss.mul(4);
      }
      override postBackward(): void {
        calls.push("postBackward");
      }
      override optimizerStep<T>(optimizer: optim.Optimizer, closure?: () => T): T {
        calls.push("optimizerStep");
        for (const p of this.mainParams(optimizer)) if (p.grad) p.grad = p.grad.div(4);
        return optimizer.step(closure);
      }
    }
    const train = (plugin: Precision | null): number[][] => {
      manualSeed(3);
      let model = new Net();
      let opt = new optim.SGD(model.parameters(), { lr: 0.5 });
      const lite = new TestLite(plugin ? { accelerator: "cpu", plugins: [plugin] } : undefined);
      [model, opt] = lite.setup(model, opt);
      opt.zeroGrad();
      lite.backward(F.crossEntropy(model.forward(batch(8, 6)), labels(8, 3)));
      opt.step();
      return snapshot(model.parameters());
    };
    const recorded = train(new Recording());
    expect(calls).toEqual(["convertInput", "forwardContext", "convertOutput", "preBackward", "postBackward", "optimizerStep"]);
    // ×4 then ÷4 is exact in float32, so the weights match bit for bit.
    expect(recorded).toEqual(train(null));
  });

  it("autocast runs a block under the precision plugin's forward context", () => {
    const lite = new TestLite();
    expect(lite.autocast(() => 5)).toBe(5);
  });

  it("toDevice keeps models, tensors and collections (tensors live on the active backend)", () => {
    const lite = new TestLite();
    const x = tf.tensor1d([1, 2]);
    const model = new nn.Linear(2, 2);
    expect(lite.toDevice(x)).toBe(x);
    const nested = { a: [x, 3], b: "s" };
    expect(lite.toDevice(nested)).toBe(nested);
    expect(lite.toDevice(model)).toBe(model);
    expect(lite.device.toString()).toBe("cpu");
  });
});
