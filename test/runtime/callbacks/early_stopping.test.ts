/**
 * EarlyStopping: Lightning's decision rule check by check (patience counts checks, minDelta,
 * thresholds, non-finite values, the missing-metric error), its messages and state, and on a
 * real Trainer: two validation checks per epoch stop training after the right number of them.
 */
import { describe, it, expect, beforeAll } from "vitest";
import { EarlyStopping, EarlyStoppingReason } from "../../../src/runtime/callbacks/index";
import type { Trainer as TrainerType } from "lightning-ts";
import { usePureJsCpu, fakeTrainer, Tiny, TinyNoVal, Trainer, quietOptions, manualSeed } from "./helpers";

/** Runs one check per score (at validation end, as with validation not at every epoch end); returns the step at which it asked to stop (1-based) or 0. */
function run(es: EarlyStopping, scores: number[], trainer = fakeTrainer()): { stoppedAt: number; trainer: TrainerType & { printed: string[] } } {
  es.setup(trainer, null as never, "fit");
  for (let i = 0; i < scores.length; i++) {
    (trainer as { currentEpoch: number }).currentEpoch = i;
    trainer.callbackMetrics.val = scores[i];
    es.onValidationEnd(trainer, null as never);
    if (trainer.shouldStop) return { stoppedAt: i + 1, trainer };
  }
  return { stoppedAt: 0, trainer };
}

describe("EarlyStopping decisions", () => {
  it("counts checks without improvement and stops when waitCount reaches patience", () => {
    const es = new EarlyStopping({ monitor: "val", patience: 3, checkOnTrainEpochEnd: false });
    const { stoppedAt } = run(es, [5, 4, 4.5, 4.2, 4.1, 1]);
    expect(stoppedAt).toBe(5);
    expect(es.waitCount).toBe(3);
    expect(es.bestScore).toBe(4);
    expect(es.stoppedEpoch).toBe(4);
    expect(es.stoppingReason).toBe(EarlyStoppingReason.PATIENCE_EXHAUSTED);
    expect(es.stoppingReasonMessage).toBe("Monitored metric val did not improve in the last 3 records. Best score: 4.000. Signaling Trainer to stop.");
  });

  it("an improvement resets the count", () => {
    const { stoppedAt } = run(new EarlyStopping({ monitor: "val", patience: 2, checkOnTrainEpochEnd: false }), [5, 6, 4, 6, 6]);
    expect(stoppedAt).toBe(5);
  });

  it("requires an improvement of more than minDelta (min mode)", () => {
    const es = new EarlyStopping({ monitor: "val", patience: 2, minDelta: 0.5, checkOnTrainEpochEnd: false });
    // 4.6 is within 0.5 of 5 (no), 4.4 is not (yes, best 4.4), 4.0 and 4.3 are within 0.5 of 4.4.
    const { stoppedAt } = run(es, [5, 4.6, 4.4, 4.0, 4.3]);
    expect(stoppedAt).toBe(5);
    expect(es.bestScore).toBe(4.4);
    expect(es.minDelta).toBe(-0.5);
  });

  it("in max mode, improving means growing by more than minDelta", () => {
    const es = new EarlyStopping({ monitor: "val", mode: "max", patience: 1, minDelta: 0.1, checkOnTrainEpochEnd: false });
    const { stoppedAt } = run(es, [0.5, 0.65, 0.7]);
    expect(stoppedAt).toBe(3);
    expect(es.bestScore).toBe(0.65);
  });

  it("stops at once when the stopping threshold is reached", () => {
    const es = new EarlyStopping({ monitor: "val", stoppingThreshold: 0.1, checkOnTrainEpochEnd: false });
    const { stoppedAt } = run(es, [0.5, 0.05]);
    expect(stoppedAt).toBe(2);
    expect(es.stoppingReason).toBe(EarlyStoppingReason.STOPPING_THRESHOLD);
    expect(es.stoppingReasonMessage).toBe("Stopping threshold reached: val = 0.05 < 0.1. Signaling Trainer to stop.");
  });

  it("stops at once when the divergence threshold is crossed", () => {
    const es = new EarlyStopping({ monitor: "val", divergenceThreshold: 10, checkOnTrainEpochEnd: false });
    const { stoppedAt } = run(es, [3, 11]);
    expect(stoppedAt).toBe(2);
    expect(es.stoppingReason).toBe(EarlyStoppingReason.DIVERGENCE_THRESHOLD);
    // Lightning prints the mode's comparison sign here too.
    expect(es.stoppingReasonMessage).toBe("Divergence threshold reached: val = 11.0 < 10.0. Signaling Trainer to stop.");
  });

  it("stops on a non-finite value unless checkFinite is false", () => {
    const es = new EarlyStopping({ monitor: "val", checkOnTrainEpochEnd: false });
    expect(run(es, [1, NaN]).stoppedAt).toBe(2);
    expect(es.stoppingReason).toBe(EarlyStoppingReason.NON_FINITE_METRIC);
    expect(es.stoppingReasonMessage).toBe("Monitored metric val = nan is not finite. Previous best value was 1.000. Signaling Trainer to stop.");

    const lenient = new EarlyStopping({ monitor: "val", checkFinite: false, patience: 5, checkOnTrainEpochEnd: false });
    expect(run(lenient, [1, NaN, Infinity]).stoppedAt).toBe(0);
    expect(lenient.waitCount).toBe(2);
  });

  it("a missing metric is Lightning's error listing what is there (strict), or skipped", () => {
    const trainer = fakeTrainer({ callbackMetrics: { val_loss: 1, train_loss: 2 } });
    const strict = new EarlyStopping({ monitor: "val_acc", checkOnTrainEpochEnd: false });
    expect(() => strict.onValidationEnd(trainer, null as never)).toThrow(
      "Early stopping conditioned on metric `val_acc` which is not available. Pass in or modify your `EarlyStopping` callback to use any of the following: `val_loss`, `train_loss`",
    );
    const lax = new EarlyStopping({ monitor: "val_acc", strict: false, checkOnTrainEpochEnd: false });
    lax.onValidationEnd(trainer, null as never);
    expect(trainer.shouldStop).toBe(false);
  });

  it("skips the sanity check, runs other than fit, and fastDevRun", () => {
    for (const over of [{ sanityChecking: true }, { state: { fn: "validate" } }, { fastDevRun: 1 }]) {
      const es = new EarlyStopping({ monitor: "val", patience: 0, checkOnTrainEpochEnd: false });
      expect(run(es, [1, 2, 3], fakeTrainer(over)).stoppedAt).toBe(0);
    }
  });

  it("checks at train epoch end only when validation runs exactly once per epoch", () => {
    const at = (over: Record<string, unknown>) => {
      const es = new EarlyStopping({ monitor: "val" });
      es.setup(fakeTrainer(over), null as never, "fit");
      return es.checkOnTrainEpochEnd;
    };
    expect(at({})).toBe(true);
    expect(at({ valCheckInterval: 0.5 })).toBe(false);
    expect(at({ checkValEveryNEpoch: 2 })).toBe(false);
  });

  it("prints its messages when verbose", () => {
    const es = new EarlyStopping({ monitor: "val", patience: 1, verbose: true, checkOnTrainEpochEnd: false });
    const { trainer } = run(es, [2, 1.5, 1.6]);
    expect(trainer.printed).toEqual([
      "Metric val improved. New best score: 2.000",
      "Metric val improved by 0.500 >= min_delta = 0.0. New best score: 1.500",
      "Monitored metric val did not improve in the last 1 records. Best score: 1.500. Signaling Trainer to stop.",
    ]);
  });

  it("saves and restores its state", () => {
    const es = new EarlyStopping({ monitor: "val", patience: 4, checkOnTrainEpochEnd: false });
    run(es, [3, 2, 2.5]);
    const state = es.stateDict();
    expect(state).toEqual({ waitCount: 1, stoppedEpoch: 0, bestScore: 2, patience: 4, stoppingReason: 0, stoppingReasonMessage: null });
    const other = new EarlyStopping({ monitor: "val", checkOnTrainEpochEnd: false });
    other.loadStateDict(state);
    expect(other.stateDict()).toEqual(state);
    expect(other.stateKey).toBe("EarlyStopping{'monitor': 'val', 'mode': 'min'}");
  });
});

describe("EarlyStopping on a real Trainer", () => {
  beforeAll(usePureJsCpu);

  it("with valCheckInterval 0.5, patience counts the two checks per epoch", async () => {
    manualSeed(0);
    // Checks after steps 2, 4 (epoch 0), 6 (epoch 1): the first improves, the next two do not.
    const module = new Tiny({ valScores: [5, 6, 6, 6, 6, 6] });
    const es = new EarlyStopping({ monitor: "val_score", patience: 2 });
    const trainer = new Trainer(quietOptions({ maxEpochs: 10, valCheckInterval: 0.5, callbacks: [es] }));
    await trainer.fit(module);
    expect(es.checkOnTrainEpochEnd).toBe(false);
    expect(module.valRuns).toBe(3);
    expect(es.stoppedEpoch).toBe(1);
    expect(trainer.globalStep).toBe(6);
    expect(es.stoppingReason).toBe(EarlyStoppingReason.PATIENCE_EXHAUSTED);
  });

  it("with one validation per epoch, stops after patience epochs without improvement", async () => {
    manualSeed(0);
    const module = new Tiny({ valScores: [5, 4, 4.5, 4.5, 4.5, 4.5] });
    const es = new EarlyStopping({ monitor: "val_score", patience: 3 });
    const trainer = new Trainer(quietOptions({ maxEpochs: 10, callbacks: [es] }));
    await trainer.fit(module);
    expect(es.checkOnTrainEpochEnd).toBe(true);
    expect(es.stoppedEpoch).toBe(4);
    expect(trainer.currentEpoch).toBe(5);
  });

  it("with checkValEveryNEpoch 2, one check without improvement is two epochs", async () => {
    manualSeed(0);
    const module = new Tiny({ valScores: [5, 6] });
    const es = new EarlyStopping({ monitor: "val_score", patience: 1 });
    const trainer = new Trainer(quietOptions({ maxEpochs: 10, checkValEveryNEpoch: 2, callbacks: [es] }));
    await trainer.fit(module);
    expect(module.valRuns).toBe(2);
    expect(trainer.currentEpoch).toBe(4);
  });

  it("errors on a metric that is never logged (strict)", async () => {
    manualSeed(0);
    const trainer = new Trainer(quietOptions({ maxEpochs: 2, callbacks: [new EarlyStopping({ monitor: "val_score" })] }));
    await expect(trainer.fit(new TinyNoVal())).rejects.toThrow("Early stopping conditioned on metric `val_score` which is not available.");
  });
});
