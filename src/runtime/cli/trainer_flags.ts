/**
 * The Trainer flags a command line can set (`--trainer.<flag> <value>`), with the type and
 * default `--help` shows. Every Trainer option is here except those only objects can fill
 * (`callbacks`, `plugins`); a test checks the list against the Trainer's own option keys.
 */
import type { TrainerOptions } from "../trainer/options.ts";

export interface TrainerFlag {
  name: keyof TrainerOptions;
  type: string;
  default: string;
  help: string;
}

export const CLI_TRAINER_FLAGS: readonly TrainerFlag[] = [
  { name: "accelerator", type: "str", default: "auto", help: "cpu, gpu, cuda, webgpu, wasm or auto" },
  { name: "strategy", type: "str", default: "auto", help: "auto, single, ddp, ddp_spawn" },
  { name: "devices", type: "int | list | str", default: "auto", help: "number of devices, a list of indices, or auto" },
  { name: "numNodes", type: "int", default: "1", help: "machines" },
  { name: "precision", type: "str | int", default: "32-true", help: "32-true, 16-mixed, bf16-mixed, 16-true, bf16-true" },
  { name: "logger", type: "bool", default: "true", help: "TensorBoard + CSV loggers (false: none)" },
  { name: "fastDevRun", type: "bool | int", default: "false", help: "run N (true: 1) batches of each stage, no logging or checkpoints" },
  { name: "maxEpochs", type: "int | null", default: "null", help: "stop after this many epochs (1000 when maxSteps is unset too)" },
  { name: "minEpochs", type: "int | null", default: "null", help: "train at least this many epochs" },
  { name: "maxSteps", type: "int", default: "-1", help: "stop after this many optimizer steps (-1: no limit)" },
  { name: "minSteps", type: "int | null", default: "null", help: "train at least this many steps" },
  { name: "limitTrainBatches", type: "int | float | null", default: "null", help: "training batches per epoch: a count or a fraction" },
  { name: "limitValBatches", type: "int | float | null", default: "null", help: "validation batches: a count or a fraction" },
  { name: "limitTestBatches", type: "int | float | null", default: "null", help: "test batches: a count or a fraction" },
  { name: "limitPredictBatches", type: "int | float | null", default: "null", help: "prediction batches: a count or a fraction" },
  { name: "overfitBatches", type: "int | float", default: "0", help: "train on the same few batches (a count or a fraction)" },
  { name: "valCheckInterval", type: "int | float | null", default: "null", help: "validate every fraction of an epoch or every N batches" },
  { name: "checkValEveryNEpoch", type: "int | null", default: "1", help: "validate every N epochs" },
  { name: "numSanityValSteps", type: "int | null", default: "null", help: "validation batches before training (2; -1: all)" },
  { name: "logEveryNSteps", type: "int | null", default: "null", help: "log step metrics every N steps (50)" },
  { name: "enableCheckpointing", type: "bool | null", default: "null", help: "save checkpoints (true)" },
  { name: "enableProgressBar", type: "bool | null", default: "null", help: "show the progress bar (true)" },
  { name: "enableModelSummary", type: "bool | null", default: "null", help: "print the model summary (true)" },
  { name: "accumulateGradBatches", type: "int", default: "1", help: "accumulate gradients over N batches" },
  { name: "gradientClipVal", type: "float | null", default: "null", help: "clip gradients to this norm or value" },
  { name: "gradientClipAlgorithm", type: "str | null", default: "null", help: "norm (default) or value" },
  { name: "deterministic", type: "bool | str | null", default: "null", help: "deterministic kernels (true, false, warn)" },
  { name: "profiler", type: "str | null", default: "null", help: "simple or kernel" },
  { name: "detectAnomaly", type: "bool", default: "false", help: "stop at the first NaN/inf loss or gradient" },
  { name: "reloadDataloadersEveryNEpochs", type: "int", default: "0", help: "rebuild the dataloaders every N epochs" },
  { name: "useDistributedSampler", type: "bool", default: "true", help: "shard the data across processes" },
  { name: "defaultRootDir", type: "str | null", default: "null", help: "where lightning_logs/ and checkpoints go (cwd)" },
];

/** Trainer options that only objects can fill: not on the command line. */
export const NOT_ON_THE_COMMAND_LINE: ReadonlyArray<keyof TrainerOptions> = ["callbacks", "plugins"];
