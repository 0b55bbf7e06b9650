/**
 * Checks that the module and data can run the requested entry point, before anything is set up
 * (Lightning's `trainer/configuration_validator.py`): the hooks each loop needs are implemented,
 * the data each loop reads is there, and manual optimisation is not combined with the Trainer's
 * automatic clipping or accumulation.
 */
import { MisconfigurationError } from "../errors.ts";
import { LightningModule, isOverridden } from "../core/module.ts";
import { rankZeroWarn } from "../utilities/rank_zero.ts";
import type { Trainer } from "./trainer.ts";

/** Lightning's `_verify_loop_configurations`. */
export function verifyLoopConfigurations(trainer: Trainer): void {
  const model = trainer.lightningModule;
  const fn = trainer.state.fn;
  if (fn === null) throw new Error("Unexpected: Trainer state fn must be set before validating loop configuration.");
  if (fn === "fit") {
    verifyTrainValLoopConfiguration(trainer, model);
    verifyManualOptimizationSupport(trainer, model);
  } else if (fn === "validate" || fn === "test") {
    verifyEvalLoopConfiguration(trainer, model, fn);
  } else if (!trainer._dataConnector.predictSource.isDefined()) {
    throw new MisconfigurationError("No `predictDataloader()` method defined to run `Trainer.predict`.");
  }
}

function verifyTrainValLoopConfiguration(trainer: Trainer, model: LightningModule): void {
  const base = LightningModule.prototype;
  const minimum = "Lightning `Trainer` expects as minimum a `trainingStep()`, `trainDataloader()` and `configureOptimizers()` to be defined.";
  if (!isOverridden("trainingStep", model, base)) throw new MisconfigurationError(`No \`trainingStep()\` method defined. ${minimum}`);
  if (!isOverridden("configureOptimizers", model, base)) throw new MisconfigurationError(`No \`configureOptimizers()\` method defined. ${minimum}`);
  const valSource = trainer._dataConnector.fitValSource;
  const hasValLoader = valSource.isDefined();
  const hasValStep = isOverridden("validationStep", model, base);
  if (hasValLoader && !hasValStep && !valSource.isModule()) {
    rankZeroWarn("You passed in a `valDataloader` but have no `validationStep`. Skipping val loop.");
  }
  if (hasValStep && !hasValLoader) rankZeroWarn("You defined a `validationStep` but have no `valDataloader`. Skipping val loop.");
}

function verifyManualOptimizationSupport(trainer: Trainer, model: LightningModule): void {
  if (model.automaticOptimization) return;
  if (trainer.gradientClipVal !== null && trainer.gradientClipVal > 0) {
    throw new MisconfigurationError(
      "Automatic gradient clipping is not supported for manual optimization. Remove `Trainer({ gradientClipVal })` or switch to automatic optimization.",
    );
  }
  if (trainer.accumulateGradBatches !== 1) {
    throw new MisconfigurationError(
      "Automatic gradient accumulation is not supported for manual optimization. Remove `Trainer({ accumulateGradBatches })` or switch to automatic optimization.",
    );
  }
}

function verifyEvalLoopConfiguration(trainer: Trainer, model: LightningModule, fn: "validate" | "test"): void {
  const step = fn === "test" ? "testStep" : "validationStep";
  const source = fn === "test" ? trainer._dataConnector.testSource : trainer._dataConnector.validateSource;
  if (!isOverridden(step, model, LightningModule.prototype)) throw new MisconfigurationError(`No \`${step}()\` method defined to run \`Trainer.${fn}\`.`);
  if (!source.isDefined()) {
    throw new MisconfigurationError(`No \`${fn === "test" ? "testDataloader" : "valDataloader"}()\` method defined to run \`Trainer.${fn}\`.`);
  }
}
