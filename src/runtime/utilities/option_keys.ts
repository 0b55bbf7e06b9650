/**
 * Options objects checked at run time. TypeScript rejects an unknown key in an object literal,
 * but plain-JavaScript callers, `as any` casts and options spread from a config file reach the
 * constructors unchecked, and a typo (`maxEpoch: 2`) would silently train with the default.
 * Lightning raises on an unknown argument; so do we, with the closest valid name.
 */
import { closest, distance } from "fastest-levenshtein";
import { MisconfigurationError } from "../errors.ts";
import { describeValue } from "./describe.ts";

type Missing<T, K extends readonly PropertyKey[]> = Exclude<keyof T, K[number]>;

/**
 * The keys of an options interface as a runtime list, checked complete at compile time: a key
 * added to the interface but not here (or one listed here that the interface lacks) is a type
 * error, so the list cannot fall behind the type.
 */
export function optionKeys<T extends object>() {
  return <const K extends readonly (keyof T & string)[]>(
    keys: K & ([Missing<T, K>] extends [never] ? unknown : { missingKeys: Missing<T, K> }),
  ): readonly string[] => keys;
}

/** Flags Lightning had and renamed: the message says what replaced them. */
const RENAMED: Record<string, string> = {
  gpus: '`accelerator: "gpu"` with `devices`',
  tpuCores: '`accelerator` with `devices`',
  ipus: '`accelerator` with `devices`',
  autoSelectGpus: "`devices`",
  resumeFromCheckpoint: "`trainer.fit(model, { ckptPath })`",
  progressBarRefreshRate: "a `TQDMProgressBar({ refreshRate })` callback",
  checkpointCallback: "`enableCheckpointing`",
  weightsSummary: "a `ModelSummary` callback (or `enableModelSummary`)",
};

/**
 * Throws on a key that `known` does not list: "unknown Trainer option `maxEpoch`; did you mean
 * `maxEpochs`?" (or the list of options when nothing is close). `undefined` is no options.
 */
export function checkOptionKeys(options: unknown, known: readonly string[], owner: string): void {
  if (options === undefined) return;
  if (options === null || typeof options !== "object" || Array.isArray(options)) {
    throw new TypeError(`${owner} options must be an object, got ${describeValue(options)}`);
  }
  for (const key of Object.keys(options)) {
    if (known.includes(key)) continue;
    const renamed = RENAMED[key];
    const near = known.length > 0 ? closest(key, known as string[]) : "";
    const hint =
      renamed !== undefined
        ? `; it was removed from Lightning: use ${renamed}`
        : near !== "" && distance(key.toLowerCase(), near.toLowerCase()) <= Math.max(2, Math.floor(key.length / 3))
          ? `; did you mean \`${near}\`?`
          : `; the options are: ${known.join(", ")}`;
    throw new MisconfigurationError(`unknown ${owner} option \`${key}\`${hint}`);
  }
}
