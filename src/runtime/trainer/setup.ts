/**
 * Validation and normalisation of the Trainer's flags (Lightning's `trainer/setup.py`
 * `_init_debugging_flags` and the Trainer constructor's checks). Every invalid value fails here,
 * at construction, with the flag's name and what it accepts.
 */
import { MisconfigurationError } from "../errors";
import { Profiler, PassThroughProfiler } from "../profilers/profiler";
import { SimpleProfiler } from "../profilers/simple";
import { describeValue } from "../utilities/describe";
import { rankZeroInfo } from "./messages";

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
    throw new MisconfigurationError(
      `When passing string value for the \`profiler\` parameter of \`Trainer\`, it can only be one of ["simple"], got ${JSON.stringify(profiler)}`,
    );
  }
  throw new MisconfigurationError(`\`profiler\` must be "simple", a Profiler instance or null, got ${describeValue(profiler)}`);
}
