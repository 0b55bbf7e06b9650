/**
 * `new Trainer(options)`: Lightning's Trainer flags in camelCase, with Lightning's defaults.
 *
 * Numbers: JavaScript has one number type, so Python's `1` (int) and `1.0` (float) are the
 * same value here. Batch-count flags follow Python's int/float split otherwise: an integer is a
 * number of batches, a non-integer in (0, 1) a fraction. `limit*Batches: 1` is one batch (leave
 * the flag out for the whole loader); `valCheckInterval: 1` is the default, once per epoch
 * (Lightning's 1.0), and integers from 2 up are every N batches.
 */
import type { Accelerator } from "../accelerators/accelerator.ts";
import type { AcceleratorFlag, DevicesFlag, PrecisionFlag, StrategyFlag } from "../connector.ts";
import type { Precision } from "../plugins/precision/precision.ts";
import type { ClusterEnvironment } from "../plugins/environments/cluster_environment.ts";
import type { Strategy } from "../strategies/strategy.ts";
import type { Callback } from "../callbacks/callback.ts";
import type { Logger } from "../loggers/logger.ts";
import type { Profiler } from "../profilers/profiler.ts";
import type { GradientClipAlgorithm } from "../core/module.ts";
import { optionKeys } from "../utilities/option_keys.ts";

export interface TrainerOptions {
  /** `"auto"` (default), `"cpu"`, `"gpu"`, `"cuda"`, `"webgpu"`, `"wasm"`, or an Accelerator. */
  accelerator?: AcceleratorFlag | Accelerator;
  /** `"auto"` (default), `"single"`, `"ddp"`, `"ddp_spawn"`, or a Strategy. */
  strategy?: StrategyFlag | Strategy;
  /** Number of devices, a list of indices, or `"auto"` (default). */
  devices?: DevicesFlag;
  numNodes?: number;
  /** `"32-true"` (default), `"16-mixed"`, `"bf16-mixed"`, `"16-true"`, `"bf16-true"` (and aliases). */
  precision?: PrecisionFlag | Precision;
  /** A precision plugin and/or a cluster environment. */
  plugins?: Array<Precision | ClusterEnvironment>;
  /**
   * Loggers. `true` (default): a TensorBoardLogger and a CSVLogger writing into the same
   * `<defaultRootDir>/lightning_logs/version_N/` (event files, `metrics.csv`, `hparams.yaml`);
   * `false`: none; or logger instance(s).
   */
  logger?: Logger | Logger[] | boolean | null;
  callbacks?: Callback | Callback[] | null;
  /** `true` or N: run N (1 for `true`) batches of train/val/test/predict, one epoch, no sanity check, no loggers, no checkpoints. */
  fastDevRun?: boolean | number;
  /** Stop after this many epochs (default 1000 when neither maxEpochs nor maxSteps is set; -1: no limit). */
  maxEpochs?: number | null;
  /** Train at least this many epochs before `shouldStop` (early stopping) can end training. */
  minEpochs?: number | null;
  /** Stop after this many optimizer steps (default -1: no limit). */
  maxSteps?: number;
  minSteps?: number | null;
  /** Training batches per epoch: an integer count or a fraction (default: all). */
  limitTrainBatches?: number | null;
  limitValBatches?: number | null;
  limitTestBatches?: number | null;
  limitPredictBatches?: number | null;
  /** Train (and validate) on the same few batches every epoch, unshuffled: a count or a fraction (default 0: off). */
  overfitBatches?: number;
  /** Validate every fraction of an epoch, or every N training batches (default 1: once per epoch). */
  valCheckInterval?: number | null;
  /** Validate every N epochs (default 1); `null` validates by `valCheckInterval` batches across epochs. */
  checkValEveryNEpoch?: number | null;
  /** Validation batches to run before training as a sanity check (default 2; -1: all). */
  numSanityValSteps?: number | null;
  /** Send step metrics to the loggers every N optimizer steps (default 50). */
  logEveryNSteps?: number | null;
  enableCheckpointing?: boolean | null;
  enableProgressBar?: boolean | null;
  enableModelSummary?: boolean | null;
  /** Accumulate gradients over N batches per optimizer step (default 1). */
  accumulateGradBatches?: number;
  /** Clip gradients to this norm (or value) before each optimizer step (default: no clipping). */
  gradientClipVal?: number | null;
  /** `"norm"` (default, total 2-norm) or `"value"` (elementwise). */
  gradientClipAlgorithm?: GradientClipAlgorithm | null;
  /** Ask the backend for deterministic kernels (the CPU and WASM backends always are). */
  deterministic?: boolean | "warn" | null;
  /** `"simple"` (time per Trainer action), `"kernel"` / `"pytorch"` (time per tfjs kernel), a Profiler instance, or nothing (default). */
  profiler?: Profiler | "simple" | "kernel" | "pytorch" | null;
  /** Stop with an error naming the epoch and step at the first NaN/infinite loss or gradient. */
  detectAnomaly?: boolean;
  /** Request the dataloaders again every N epochs (default 0: never). */
  reloadDataloadersEveryNEpochs?: number;
  /** Insert a DistributedSampler when the strategy splits data across processes (default true). */
  useDistributedSampler?: boolean;
  /** Root for logs and checkpoints when the loggers/callbacks do not say (default: `LIGHTNING_TS_DEFAULT_ROOT_DIR`, else the current directory). */
  defaultRootDir?: string | null;
}

/** Checked in the constructor (utilities/option_keys.ts). */
export const TRAINER_OPTION_KEYS = optionKeys<TrainerOptions>()(["accelerator", "strategy", "devices", "numNodes", "precision", "plugins", "logger", "callbacks", "fastDevRun", "maxEpochs", "minEpochs", "maxSteps", "minSteps", "limitTrainBatches", "limitValBatches", "limitTestBatches", "limitPredictBatches", "overfitBatches", "valCheckInterval", "checkValEveryNEpoch", "numSanityValSteps", "logEveryNSteps", "enableCheckpointing", "enableProgressBar", "enableModelSummary", "accumulateGradBatches", "gradientClipVal", "gradientClipAlgorithm", "deterministic", "profiler", "detectAnomaly", "reloadDataloadersEveryNEpochs", "useDistributedSampler", "defaultRootDir"]);
