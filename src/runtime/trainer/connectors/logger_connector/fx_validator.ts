/**
 * Where `self.log` may be called and with which `onStep`/`onEpoch` (Lightning's `_FxValidator`).
 * Names are the camelCase hook names; a hook absent from the table (or mapped to null) does not
 * support logging. Callback hooks share the rules of the module hook of the same name.
 */
import { MisconfigurationError } from "../../../errors.ts";

interface LogOptions {
  allowedOnStep: readonly boolean[];
  allowedOnEpoch: readonly boolean[];
  defaultOnStep: boolean;
  defaultOnEpoch: boolean;
}

const STEP: LogOptions = { allowedOnStep: [false, true], allowedOnEpoch: [false, true], defaultOnStep: true, defaultOnEpoch: false };
const EVAL_STEP: LogOptions = { allowedOnStep: [false, true], allowedOnEpoch: [false, true], defaultOnStep: false, defaultOnEpoch: true };
const EPOCH_ONLY: LogOptions = { allowedOnStep: [false], allowedOnEpoch: [true], defaultOnStep: false, defaultOnEpoch: true };

export const FX_LOG_OPTIONS: Readonly<Record<string, LogOptions | null>> = {
  onBeforeBackward: STEP,
  backward: null,
  onAfterBackward: STEP,
  onBeforeOptimizerStep: STEP,
  optimizerStep: null,
  lrSchedulerStep: null,
  onBeforeZeroGrad: STEP,
  optimizerZeroGrad: null,
  onFitStart: null,
  onFitEnd: null,
  onSanityCheckStart: null,
  onSanityCheckEnd: null,
  onTrainStart: EPOCH_ONLY,
  onTrainEnd: null,
  onValidationStart: EPOCH_ONLY,
  onValidationEnd: null,
  onTestStart: EPOCH_ONLY,
  onTestEnd: null,
  onPredictStart: null,
  onPredictEnd: null,
  onTrainEpochStart: EPOCH_ONLY,
  onTrainEpochEnd: EPOCH_ONLY,
  onValidationEpochStart: EPOCH_ONLY,
  onValidationEpochEnd: EPOCH_ONLY,
  onTestEpochStart: EPOCH_ONLY,
  onTestEpochEnd: EPOCH_ONLY,
  onPredictEpochStart: null,
  onPredictEpochEnd: null,
  onBeforeBatchTransfer: null,
  transferBatchToDevice: null,
  onAfterBatchTransfer: null,
  onTrainBatchStart: STEP,
  onTrainBatchEnd: STEP,
  onValidationBatchStart: EVAL_STEP,
  onValidationBatchEnd: EVAL_STEP,
  onTestBatchStart: EVAL_STEP,
  onTestBatchEnd: EVAL_STEP,
  onPredictBatchStart: null,
  onPredictBatchEnd: null,
  onException: null,
  stateDict: null,
  onSaveCheckpoint: null,
  onLoadCheckpoint: null,
  loadStateDict: null,
  setup: null,
  teardown: null,
  configureModel: null,
  configureOptimizers: null,
  configureCallbacks: null,
  configureGradientClipping: null,
  prepareData: null,
  trainDataloader: null,
  valDataloader: null,
  testDataloader: null,
  predictDataloader: null,
  trainingStep: STEP,
  validationStep: EVAL_STEP,
  testStep: EVAL_STEP,
  predictStep: null,
  onValidationModelZeroGrad: null,
  onValidationModelEval: null,
  onValidationModelTrain: null,
  onTestModelEval: null,
  onTestModelTrain: null,
  onPredictModelEval: null,
};

/** Checks that `fx` allows logging with these levels and fills in the hook's defaults. */
export function checkLoggingAndGetDefaultLevels(
  fx: string,
  onStep: boolean | undefined,
  onEpoch: boolean | undefined,
): { onStep: boolean; onEpoch: boolean } {
  if (!(fx in FX_LOG_OPTIONS)) {
    throw new Error(
      `Logging inside \`${fx}\` is not implemented. Please, open an issue in the lightning-ts repository ` +
        "saying where you need to log",
    );
  }
  const opts = FX_LOG_OPTIONS[fx];
  if (opts === null) throw new MisconfigurationError(`You can't \`this.log()\` inside \`${fx}\`.`);
  const step = onStep ?? opts.defaultOnStep;
  const epoch = onEpoch ?? opts.defaultOnEpoch;
  if (!opts.allowedOnStep.includes(step)) {
    throw new MisconfigurationError(
      `You can't \`this.log(${fx}, { onStep: ${step} })\`, must be one of ${JSON.stringify(opts.allowedOnStep)}`,
    );
  }
  if (!opts.allowedOnEpoch.includes(epoch)) {
    throw new MisconfigurationError(
      `You can't \`this.log(${fx}, { onEpoch: ${epoch} })\`, must be one of ${JSON.stringify(opts.allowedOnEpoch)}`,
    );
  }
  return { onStep: step, onEpoch: epoch };
}
