/**
 * `hparams.yaml`, as Lightning's `save_hparams_to_yaml` writes it.
 *
 * The hyperparameters of a run sit beside its metrics so that a version directory is
 * self-describing: which settings produced these curves.
 * Values YAML cannot hold (functions, class instances such as a model or a dataset, cycles) are
 * left out with a warning rather than failing the run, exactly as Lightning does.
 */
import * as fs from "node:fs";
import * as path from "node:path";

import { rankZeroWarn } from "../utilities/rank_zero.ts";
import { YamlRepresentationError, dumpYaml } from "./yaml_emitter.ts";

export const HPARAMS_FILE_NAME = "hparams.yaml";

/**
 * The YAML text for `hparams`: one sorted block mapping, each top-level value that cannot be
 * represented dropped (with a warning naming it).
 */
export function hparamsToYaml(hparams: Readonly<Record<string, unknown>>): string {
  const allowed: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(hparams)) {
    try {
      dumpYaml(value);
    } catch (err) {
      if (!(err instanceof YamlRepresentationError)) throw err;
      rankZeroWarn(`Skipping '${key}' parameter because it is not possible to safely dump to YAML (${err.message}).`);
      continue;
    }
    allowed[key] = value;
  }
  return dumpYaml(allowed);
}

/**
 * Writes `hparams` to `file`. The folder must exist (a missing one means the log directory was
 * never created, which is a bug worth surfacing). The file is replaced atomically so a reader
 * (TensorBoard, a watching script) never sees it half-written.
 */
export function saveHparamsToYaml(file: string, hparams: Readonly<Record<string, unknown>>): void {
  const dir = path.dirname(file);
  if (!fs.existsSync(dir) || !fs.statSync(dir).isDirectory()) {
    throw new Error(`Missing folder: ${dir}.`);
  }
  const text = hparamsToYaml(hparams);
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, text, "utf8");
  fs.renameSync(tmp, file);
}
