/**
 * Hook order, compared with Lightning's own expectation lists (tests_pytorch/models/test_hooks.py,
 * `test_trainer_model_hook_system_fit` and friends). Hooks are recorded when they return, as in
 * Lightning's test (so `trainingStep` comes after the `forward` it calls, and `optimizerStep`
 * after the closure's hooks).
 */
import { describe, it, expect, beforeAll } from "vitest";
import { Trainer, Callback, CALLBACK_HOOKS, type LightningModule } from "lightning-ts";
import { usePureJsCpu, baseOptions, EvalClassifier, manualSeed, tf, optim, F, data, dataset } from "./helpers";

const calls: string[] = [];

class HookedCallback extends Callback {}
for (const hook of CALLBACK_HOOKS) {
  (HookedCallback.prototype as unknown as Record<string, unknown>)[hook] = function (..._args: unknown[]) {
    calls.push(`Callback.${hook}`);
  };
}
(HookedCallback.prototype as unknown as Record<string, unknown>).stateDict = function () {
  calls.push("Callback.stateDict");
  return { seen: true };
};

const MODULE_HOOKS = [
  "configureCallbacks", "prepareData", "setup", "configureModel", "configureOptimizers", "onFitStart", "zeroGrad",
  "valDataloader", "trainDataloader", "testDataloader", "predictDataloader", "train", "onValidationModelEval",
  "onValidationModelTrain", "onValidationModelZeroGrad", "onTestModelEval", "onTestModelTrain", "onPredictModelEval",
  "onValidationStart", "onValidationEnd", "onTestStart", "onTestEnd", "onPredictStart", "onPredictEnd",
  "onValidationEpochStart", "onValidationEpochEnd", "onTestEpochStart", "onTestEpochEnd", "onPredictEpochStart",
  "onPredictEpochEnd", "onBeforeBatchTransfer", "transferBatchToDevice", "onAfterBatchTransfer", "onTrainBatchStart",
  "onTrainBatchEnd", "onValidationBatchStart", "onValidationBatchEnd", "onTestBatchStart", "onTestBatchEnd",
  "onPredictBatchStart", "onPredictBatchEnd", "forward", "trainingStep", "validationStep", "testStep", "predictStep",
  "onBeforeZeroGrad", "optimizerZeroGrad", "onBeforeBackward", "backward", "onAfterBackward", "onBeforeOptimizerStep",
  "clipGradients", "configureGradientClipping", "optimizerStep", "lrSchedulerStep", "onTrainStart", "onTrainEnd",
  "onTrainEpochStart", "onTrainEpochEnd", "onFitEnd", "teardown", "onSaveCheckpoint", "onLoadCheckpoint", "manualBackward",
] as const;

/** Wraps every hook of `model` so its name is recorded when it returns. */
function record<T extends LightningModule>(model: T): T {
  for (const hook of MODULE_HOOKS) {
    const original = (model as unknown as Record<string, (...a: unknown[]) => unknown>)[hook];
    (model as unknown as Record<string, unknown>)[hook] = function (this: unknown, ...args: unknown[]) {
      const out = original.apply(model, args);
      const name = hook === "train" ? `train(${args[0] === false ? "false" : "true"})` : hook;
      if (out instanceof Promise) return out.then((v) => (calls.push(name), v));
      calls.push(name);
      return out;
    };
  }
  return model;
}

function evalEpoch(fn: "Validation" | "Test", batches: number): string[] {
  const out = [`Callback.on${fn}EpochStart`, `on${fn}EpochStart`];
  for (let i = 0; i < batches; i++) {
    out.push(
      "onBeforeBatchTransfer", "transferBatchToDevice", "onAfterBatchTransfer",
      `Callback.on${fn}BatchStart`, `on${fn}BatchStart`,
      "forward", `${fn === "Validation" ? "validation" : "test"}Step`,
      `Callback.on${fn}BatchEnd`, `on${fn}BatchEnd`,
    );
  }
  out.push(`Callback.on${fn}EpochEnd`, `on${fn}EpochEnd`);
  return out;
}

function autoTrainBatch(batches: number, lastSchedulerStep: boolean): string[] {
  const out: string[] = [];
  for (let i = 0; i < batches; i++) {
    out.push(
      "onBeforeBatchTransfer", "transferBatchToDevice", "onAfterBatchTransfer",
      "Callback.onTrainBatchStart", "onTrainBatchStart",
      "forward", "trainingStep",
      "Callback.onBeforeZeroGrad", "onBeforeZeroGrad", "optimizerZeroGrad",
      "Callback.onBeforeBackward", "onBeforeBackward", "backward", "Callback.onAfterBackward", "onAfterBackward",
      "Callback.onBeforeOptimizerStep", "onBeforeOptimizerStep", "clipGradients", "configureGradientClipping",
      "optimizerStep",
      ...(lastSchedulerStep && i === batches - 1 ? ["lrSchedulerStep"] : []),
      "Callback.onTrainBatchEnd", "onTrainBatchEnd",
    );
  }
  return out;
}

class SchedModule extends EvalClassifier {
  override configureOptimizers() {
    const opt = new optim.SGD(this.parameters(), { lr: 0.1 });
    return { optimizer: opt, lrScheduler: new optim.lrScheduler.StepLR(opt, { stepSize: 1 }) };
  }
  override valDataloader() {
    return new data.DataLoader(dataset(4, 1), { batchSize: 2 });
  }
  override trainDataloader() {
    return new data.DataLoader(dataset(4), { batchSize: 2 });
  }
}

describe("hook order", () => {
  beforeAll(usePureJsCpu);

  it("fit with validation and checkpointing follows Lightning's order", async () => {
    manualSeed(0);
    const model = record(new SchedModule());
    const trainer = new Trainer(baseOptions({ maxEpochs: 1, callbacks: [new HookedCallback()], logger: false }));
    calls.length = 0;
    await trainer.fit(model);
    const expected = [
      "configureCallbacks", "prepareData", "Callback.setup", "setup", "configureModel", "configureOptimizers",
      "Callback.onFitStart", "onFitStart", "zeroGrad",
      "Callback.onSanityCheckStart", "valDataloader", "train(false)", "onValidationModelEval",
      "Callback.onValidationStart", "onValidationStart", ...evalEpoch("Validation", 2),
      "Callback.onValidationEnd", "onValidationEnd", "train(true)", "onValidationModelTrain", "Callback.onSanityCheckEnd",
      "trainDataloader", "Callback.onTrainStart", "onTrainStart", "Callback.onTrainEpochStart", "onTrainEpochStart",
      ...autoTrainBatch(2, true),
      "zeroGrad", "onValidationModelZeroGrad", "train(false)", "onValidationModelEval",
      "Callback.onValidationStart", "onValidationStart", ...evalEpoch("Validation", 2),
      "Callback.onValidationEnd", "onValidationEnd", "train(true)", "onValidationModelTrain",
      "Callback.onTrainEpochEnd", "onTrainEpochEnd",
      // the default ModelCheckpoint saves here (a monitoring callback, after the module's hook)
      "Callback.stateDict", "Callback.onSaveCheckpoint", "onSaveCheckpoint",
      "Callback.onTrainEnd", "onTrainEnd", "Callback.onFitEnd", "onFitEnd", "Callback.teardown", "teardown",
    ];
    expect(calls).toEqual(expected);
  });

  it("validate and test follow Lightning's order", async () => {
    manualSeed(0);
    const model = record(new SchedModule());
    const trainer = new Trainer(baseOptions({ callbacks: [new HookedCallback()], logger: false, enableCheckpointing: false }));
    for (const fn of ["Validation", "Test"] as const) {
      calls.length = 0;
      if (fn === "Test") await trainer.test(model, { verbose: false });
      else await trainer.validate(model, { verbose: false });
      const dl = fn === "Test" ? "testDataloader" : "valDataloader";
      const batches = fn === "Test" ? 3 : 2;
      expect(calls).toEqual([
        "configureCallbacks", "prepareData", "Callback.setup", "setup", "configureModel", "zeroGrad", dl,
        "train(false)", `on${fn}ModelEval`, `Callback.on${fn}Start`, `on${fn}Start`, ...evalEpoch(fn, batches),
        `Callback.on${fn}End`, `on${fn}End`, "train(true)", `on${fn}ModelTrain`, "Callback.teardown", "teardown",
      ]);
    }
  });

  it("predict follows Lightning's order", async () => {
    manualSeed(0);
    class P extends SchedModule {
      override predictDataloader() {
        return [tf.ones([2, 6]), tf.zeros([1, 6])];
      }
    }
    const model = record(new P());
    const trainer = new Trainer(baseOptions({ callbacks: [new HookedCallback()], logger: false, enableCheckpointing: false }));
    calls.length = 0;
    await trainer.predict(model);
    const batch = [
      "onBeforeBatchTransfer", "transferBatchToDevice", "onAfterBatchTransfer",
      "Callback.onPredictBatchStart", "onPredictBatchStart", "forward", "predictStep", "Callback.onPredictBatchEnd", "onPredictBatchEnd",
    ];
    expect(calls).toEqual([
      "configureCallbacks", "prepareData", "Callback.setup", "setup", "configureModel", "zeroGrad", "predictDataloader",
      "train(false)", "onPredictModelEval", "Callback.onPredictStart", "onPredictStart", "Callback.onPredictEpochStart", "onPredictEpochStart",
      ...batch, ...batch,
      "Callback.onPredictEpochEnd", "onPredictEpochEnd", "Callback.onPredictEnd", "onPredictEnd", "Callback.teardown", "teardown",
    ]);
  });

  it("manual optimization follows Lightning's order", async () => {
    manualSeed(0);
    class Manual extends SchedModule {
      override automaticOptimization = false;
      override trainingStep([x, y]: [tf.Tensor, tf.Tensor]) {
        const opt = this.optimizers();
        const loss = F.crossEntropy(this.forward(x), y);
        opt.zeroGrad();
        this.manualBackward(loss);
        opt.step(() => calls.push("closure"));
        return loss;
      }
      override validationStep(): void {}
    }
    const model = record(new Manual());
    const trainer = new Trainer(baseOptions({ maxEpochs: 1, limitValBatches: 0, callbacks: [new HookedCallback()], logger: false, enableCheckpointing: false }));
    calls.length = 0;
    await trainer.fit(model);
    const batch = [
      "onBeforeBatchTransfer", "transferBatchToDevice", "onAfterBatchTransfer",
      "Callback.onTrainBatchStart", "onTrainBatchStart", "forward",
      "Callback.onBeforeBackward", "onBeforeBackward", "backward", "Callback.onAfterBackward", "onAfterBackward", "manualBackward",
      "closure", "Callback.onBeforeOptimizerStep", "onBeforeOptimizerStep",
      "trainingStep", "Callback.onTrainBatchEnd", "onTrainBatchEnd",
    ];
    expect(calls).toEqual([
      "configureCallbacks", "prepareData", "Callback.setup", "setup", "configureModel", "configureOptimizers",
      "Callback.onFitStart", "onFitStart", "zeroGrad", "trainDataloader", "Callback.onTrainStart", "onTrainStart",
      "Callback.onTrainEpochStart", "onTrainEpochStart", ...batch, ...batch,
      "Callback.onTrainEpochEnd", "onTrainEpochEnd", "Callback.onTrainEnd", "onTrainEnd",
      "Callback.onFitEnd", "onFitEnd", "Callback.teardown", "teardown",
    ]);
    expect(trainer.globalStep).toBe(2);
  });
});
