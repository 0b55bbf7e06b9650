/**
 * LearningRateMonitor: the logged keys (Lightning's names), the values per step and per epoch
 * with a scheduler on a real Trainer, momentum / weight decay, and the no-logger error.
 */
import { describe, it, expect, beforeAll } from "vitest";
import { MisconfigurationError, type LRSchedulerConfig } from "lightning-ts";
import { LearningRateMonitor } from "../../../src/runtime/callbacks/index";
import { usePureJsCpu, fakeTrainer, Tiny, Trainer, quietOptions, manualSeed, RecordingLogger, nn, optim } from "./helpers";

beforeAll(usePureJsCpu);

async function fitWith(monitor: LearningRateMonitor, module: Tiny, extra: Parameters<typeof quietOptions>[0] = {}): Promise<RecordingLogger> {
  manualSeed(0);
  const logger = new RecordingLogger();
  await new Trainer(quietOptions({ maxEpochs: 3, logger, callbacks: [monitor], ...extra })).fit(module);
  return logger;
}

function config(scheduler: optim.lrScheduler.LRScheduler, extra: Partial<LRSchedulerConfig> = {}): LRSchedulerConfig {
  return { scheduler, name: null, interval: "epoch", frequency: 1, reduceOnPlateau: false, monitor: null, strict: true, ...extra };
}

describe("LearningRateMonitor on a real Trainer", () => {
  it("logs an epoch-interval scheduler's lr at each epoch start, at the step the Trainer logs at", async () => {
    const monitor = new LearningRateMonitor();
    const logger = await fitWith(monitor, new Tiny({ scheduler: "epoch-interval", lr: 0.08 }));
    expect(logger.series("lr-SGD")).toEqual([
      [0, 0.08],
      [4, 0.04],
      [8, 0.02],
    ]);
    expect(monitor.lrs).toEqual({ "lr-SGD": [0.08, 0.04, 0.02] });
  });

  it("logs a step-interval scheduler's lr before every logged step", async () => {
    const logger = await fitWith(new LearningRateMonitor(), new Tiny({ scheduler: "step-interval", lr: 0.08 }), { maxEpochs: 2, logEveryNSteps: 1 });
    const expected = Array.from({ length: 8 }, (_, k) => [k, 0.08 * 0.5 ** k]);
    expect(logger.series("lr-SGD")).toEqual(expected);
  });

  it("respects logEveryNSteps for step logging", async () => {
    const logger = await fitWith(new LearningRateMonitor(), new Tiny({ scheduler: "step-interval", lr: 0.08 }), { maxEpochs: 2, logEveryNSteps: 3 });
    // Checked at batch start against the step about to be taken: steps 2 and 5 (the 3rd and 6th).
    expect(logger.series("lr-SGD").map(([s]) => s)).toEqual([2, 5]);
  });

  it("loggingInterval 'epoch' logs every optimizer once per epoch, whatever its scheduler's interval", async () => {
    const logger = await fitWith(new LearningRateMonitor({ loggingInterval: "epoch" }), new Tiny({ scheduler: "step-interval", lr: 0.08 }), { maxEpochs: 2 });
    expect(logger.series("lr-SGD")).toEqual([
      [0, 0.08],
      [4, 0.08 * 0.5 ** 4],
    ]);
  });

  it("logs momentum (`betas[0]` for Adam) and weight decay beside the lr, and makes them monitorable", async () => {
    const monitor = new LearningRateMonitor({ logMomentum: true, logWeightDecay: true });
    manualSeed(0);
    const logger = new RecordingLogger();
    const trainer = new Trainer(quietOptions({ maxEpochs: 1, logger, logEveryNSteps: 1, callbacks: [monitor] }));
    await trainer.fit(new Tiny({ optimizer: "adam", lr: 0.01 }));
    expect(logger.calls[0].metrics).toEqual({ "lr-Adam": 0.01, "lr-Adam-momentum": 0.9, "lr-Adam-weight_decay": 0 });
    expect(trainer.callbackMetrics["lr-Adam"]).toBe(0.01);
  });

  it("needs a logger (Lightning's error)", async () => {
    manualSeed(0);
    const trainer = new Trainer(quietOptions({ maxEpochs: 1, logger: false, callbacks: [new LearningRateMonitor()] }));
    const err = await trainer.fit(new Tiny()).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(MisconfigurationError);
    expect((err as Error).message).toBe("Cannot use `LearningRateMonitor` callback with `Trainer` that has no logger.");
  });
});

describe("LearningRateMonitor names", () => {
  const params = () => new nn.Linear(2, 2).parameters();

  function namesFor(optimizers: optim.Optimizer[], configs: LRSchedulerConfig[], options = {}): Record<string, number> {
    const logger = new RecordingLogger();
    const trainer = fakeTrainer({ loggers: [logger], optimizers, lrSchedulerConfigs: configs });
    const monitor = new LearningRateMonitor({ loggingInterval: "epoch", ...options });
    monitor.onTrainStart(trainer, null as never);
    monitor.onTrainEpochStart(trainer, null as never);
    return logger.calls[0].metrics;
  }

  it("numbers optimizers of one class and parameter groups as Lightning", () => {
    const [w, b] = params();
    const twoGroups = new optim.SGD([{ params: [w] }, { params: [b], lr: 0.5 }], { lr: 0.1 });
    const adam1 = new optim.Adam(params(), { lr: 1e-3 });
    const adam2 = new optim.Adam(params(), { lr: 2e-3 });
    expect(namesFor([twoGroups, adam1, adam2], [])).toEqual({ "lr-SGD/pg1": 0.1, "lr-SGD/pg2": 0.5, "lr-Adam": 1e-3, "lr-Adam-1": 2e-3 });
  });

  it("uses parameter group names and the scheduler config's name", () => {
    const [w, b] = params();
    const named = new optim.SGD([{ params: [w], name: "backbone" }, { params: [b], name: "head" }], { lr: 0.1 });
    const other = new optim.SGD(params(), { lr: 0.2 });
    const sched = new optim.lrScheduler.StepLR(other, { stepSize: 1 });
    expect(namesFor([named, other], [config(sched, { name: "my_lr" })])).toEqual({ my_lr: 0.2, "lr-SGD/backbone": 0.1, "lr-SGD/head": 0.1 });
  });

  it("adds logKeyPrefix, and refuses duplicate group names", () => {
    expect(namesFor([new optim.SGD(params(), { lr: 0.3 })], [], { logKeyPrefix: "train/" })).toEqual({ "train/lr-SGD": 0.3 });
    const [w, b] = params();
    const dup = new optim.SGD([{ params: [w], name: "x" }, { params: [b], name: "x" }], { lr: 0.1 });
    expect(() => namesFor([dup], [])).toThrow("A single `Optimizer` cannot have multiple parameter groups with identical `name` values. lr-SGD has duplicated parameter group names {'x'}");
  });

  it("rejects an unknown loggingInterval", () => {
    expect(() => new LearningRateMonitor({ loggingInterval: "batch" as "step" })).toThrow("loggingInterval should be `step` or `epoch` or `None`.");
  });
});
