/**
 * The Trainer's flag steps that belong to no connector (Lightning's `trainer/setup.py`:
 * `_init_debugging_flags`, `_init_profiler`, `_log_device_info`, plus the constructor's own
 * checks of the optimisation and determinism flags). Every invalid value fails here, at
 * construction, with the flag's name and what it accepts.
 */
import { cuda } from "../../torch/device.ts";
import { MisconfigurationError } from "../errors.ts";
import { Profiler, PassThroughProfiler } from "../profilers/profiler.ts";
import { SimpleProfiler } from "../profilers/simple.ts";
import { KernelProfiler } from "../profilers/kernel.ts";
import { describeValue } from "../utilities/describe.ts";
import { rankZeroInfo } from "../utilities/rank_zero.ts";
import type { TrainerOptions } from "./options.ts";
import type { Trainer } from "./trainer.ts";

/**
 * The Trainer members a step assigns. They are readonly to users; the steps are the one place
 * that sets them, while the Trainer is being built (as Lightning's connectors set `trainer.x`).
 */
export type TrainerFlags<K extends keyof Trainer> = { -readonly [P in K]: Trainer[P] };

/** `accumulateGradBatches` and gradient clipping (checked in Lightning's `Trainer.__init__`). */
export function initOptimizationFlags(
  trainer: TrainerFlags<"accumulateGradBatches" | "gradientClipVal" | "gradientClipAlgorithm">,
  options: TrainerOptions,
): void {
  trainer.accumulateGradBatches = checkPositiveInt(options.accumulateGradBatches ?? 1, "accumulateGradBatches");
  const clipVal = options.gradientClipVal ?? null;
  if (clipVal !== null && (typeof clipVal !== "number" || Number.isNaN(clipVal))) {
    throw new MisconfigurationError(`\`gradientClipVal\` should be a number. Got ${describeValue(clipVal)}.`);
  }
  trainer.gradientClipVal = clipVal;
  const algo = options.gradientClipAlgorithm ?? null;
  if (algo !== null && algo !== "norm" && algo !== "value") {
    throw new MisconfigurationError(`\`gradientClipAlgorithm\` ${describeValue(algo)} is invalid. Allowed algorithms: ['value', 'norm'].`);
  }
  trainer.gradientClipAlgorithm = algo;
}

type DebuggingFlag =
  | "fastDevRun"
  | "overfitBatches"
  | "limitTrainBatches"
  | "limitValBatches"
  | "limitTestBatches"
  | "limitPredictBatches"
  | "numSanityValSteps"
  | "valCheckInterval"
  | "checkValEveryNEpoch"
  | "detectAnomaly";

/**
 * Lightning's `_init_debugging_flags`: `fastDevRun`, `overfitBatches`, the `limit*Batches`,
 * `numSanityValSteps` and `valCheckInterval`. `checkValEveryNEpoch` is checked here too (Lightning's
 * data connector does it) because it is checked against `valCheckInterval` and `fastDevRun`
 * overrides both.
 */
export function initDebuggingFlags(trainer: TrainerFlags<DebuggingFlag>, options: TrainerOptions): void {
  const fdr = options.fastDevRun ?? false;
  if (fdr !== false && fdr !== true && (typeof fdr !== "number" || !Number.isInteger(fdr) || fdr < 0)) {
    throw new MisconfigurationError(`fastDevRun=${describeValue(fdr)} is not a valid configuration. It should be a boolean or an integer >= 0.`);
  }
  const fastBatches = fdr === true ? 1 : fdr === false ? 0 : fdr;
  const fastDevRun = fastBatches > 0 ? fastBatches : false;
  const overfitBatches = determineBatchLimits(options.overfitBatches ?? 0, "overfitBatches") ?? 0;
  const overfitting = overfitBatches > 0;
  let limitTrain = determineBatchLimits(options.limitTrainBatches, "limitTrainBatches");
  let limitVal = determineBatchLimits(options.limitValBatches, "limitValBatches");
  let limitTest = determineBatchLimits(options.limitTestBatches, "limitTestBatches");
  let limitPredict = determineBatchLimits(options.limitPredictBatches, "limitPredictBatches");
  let numSanity = options.numSanityValSteps ?? 2;
  checkNonNegativeInt(numSanity, "numSanityValSteps", true);
  let valCheckInterval = determineBatchLimits(options.valCheckInterval, "valCheckInterval") ?? 1;
  if (valCheckInterval === 0) throw new MisconfigurationError("`valCheckInterval` must be > 0: to disable validation set `limitValBatches: 0`");
  let checkValEvery = options.checkValEveryNEpoch === undefined ? 1 : options.checkValEveryNEpoch;
  if (checkValEvery !== null) checkPositiveInt(checkValEvery, "checkValEveryNEpoch");
  else if (!(Number.isInteger(valCheckInterval) && valCheckInterval > 1)) {
    throw new MisconfigurationError("`valCheckInterval` should be an integer number of batches when `checkValEveryNEpoch` is null");
  }
  if (fastDevRun !== false) {
    if (!overfitting) {
      limitTrain = fastDevRun;
      limitVal = fastDevRun;
    }
    limitTest = fastDevRun;
    limitPredict = fastDevRun;
    numSanity = 0;
    valCheckInterval = 1;
    checkValEvery = 1;
    rankZeroInfo(`Running in \`fastDevRun\` mode: will run the requested loop using ${fastDevRun} batch(es). Logging and checkpointing is suppressed.`);
  }
  if (overfitting) {
    limitTrain = overfitBatches;
    limitVal = overfitBatches;
  }
  trainer.fastDevRun = fastDevRun;
  trainer.overfitBatches = overfitBatches;
  trainer.limitTrainBatches = limitTrain;
  trainer.limitValBatches = limitVal;
  trainer.limitTestBatches = limitTest;
  trainer.limitPredictBatches = limitPredict;
  trainer.numSanityValSteps = numSanity;
  trainer.valCheckInterval = valCheckInterval;
  trainer.checkValEveryNEpoch = checkValEvery;
  trainer.detectAnomaly = options.detectAnomaly ?? false;
}

/** `deterministic` (Lightning's accelerator connector `_init_deterministic`). */
export function initDeterminism(trainer: TrainerFlags<"deterministic">, options: TrainerOptions): void {
  const det = options.deterministic ?? false;
  if (det !== true && det !== false && det !== "warn") {
    throw new MisconfigurationError(`\`deterministic\` must be true, false or "warn", got ${describeValue(det)}`);
  }
  trainer.deterministic = det;
  // TensorFlow (tfjs-node) reads this when it picks kernels; the CPU and WASM backends are deterministic anyway.
  if (det !== false) process.env.TF_DETERMINISTIC_OPS = "1";
}

/** Lightning's `_log_device_info`. */
export function logDeviceInfo(trainer: Trainer): void {
  const deviceType = trainer.accelerator.deviceType;
  const gpuUsed = deviceType !== "cpu" && deviceType !== "wasm";
  // (as Lightning: `GPU available: True (cuda), used: True`; the GPU backend may still be starting)
  const available = gpuUsed || cuda.isAvailable();
  rankZeroInfo(`GPU available: ${available ? `True (${gpuUsed ? deviceType : "cuda"})` : "False"}, used: ${gpuUsed ? "True" : "False"}`);
}

/** Lightning's `_determine_batch_limits`: an integer count or a fraction in [0, 1]; null is all. */
export function determineBatchLimits(value: number | null | undefined, name: string): number | null {
  if (value === null || value === undefined) return null;
  if (typeof value !== "number" || Number.isNaN(value)) {
    throw new MisconfigurationError(`You have passed invalid value ${describeValue(value)} for ${name}, it has to be in [0.0, 1.0] or an int.`);
  }
  if (value === 1) {
    const what =
      name === "limitTrainBatches" ? "1 batch per epoch will be used" : name === "valCheckInterval" ? "validation will run at the end of the training epoch" : "1 batch will be used";
    rankZeroInfo(`\`Trainer({ ${name}: 1 })\` was configured so ${what}.`);
  }
  if (value >= 0 && value <= 1) return value;
  if (value > 1 && Number.isInteger(value)) return value;
  throw new MisconfigurationError(`You have passed invalid value ${value} for ${name}, it has to be in [0.0, 1.0] or an int.`);
}

export function checkNonNegativeInt(value: unknown, name: string, allowMinusOne = false): number {
  if (typeof value !== "number" || !Number.isInteger(value) || value < (allowMinusOne ? -1 : 0)) {
    throw new MisconfigurationError(
      `\`${name}\` must be a non-negative integer${allowMinusOne ? " or -1" : ""}, got ${describeValue(value)}`,
    );
  }
  return value;
}

export function checkPositiveInt(value: unknown, name: string): number {
  if (typeof value !== "number" || !Number.isInteger(value) || value < 1) {
    throw new MisconfigurationError(`\`${name}\` must be a positive integer, got ${describeValue(value)}`);
  }
  return value;
}

/** `profiler: "simple"` or an instance; nothing is the pass-through profiler. */
export function initProfiler(profiler: Profiler | string | null | undefined): Profiler {
  if (profiler === null || profiler === undefined) return new PassThroughProfiler();
  if (profiler instanceof Profiler) return profiler;
  if (typeof profiler === "string") {
    const name = profiler.toLowerCase();
    if (name === "simple") return new SimpleProfiler();
    if (name === "kernel" || name === "pytorch") return new KernelProfiler();
    throw new MisconfigurationError(
      `When passing string value for the \`profiler\` parameter of \`Trainer\`, it can only be one of ["simple", "kernel", "pytorch"], got ${JSON.stringify(profiler)}`,
    );
  }
  throw new MisconfigurationError(`\`profiler\` must be "simple", "kernel", a Profiler instance or null, got ${describeValue(profiler)}`);
}
