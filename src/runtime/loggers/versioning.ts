/**
 * Lightning's experiment version directories: `<saveDir>/<name>/version_<N>`.
 *
 * Every run of a script gets a fresh directory without the user picking one: the next version is
 * one past the largest `version_<int>` already present, so deleting `version_1` out of
 * `version_0..2` still yields `version_3` and never reuses a number that might still be open in
 * TensorBoard. A version given as a string names the directory verbatim (`"final-run"`).
 */
import * as fs from "node:fs";
import * as path from "node:path";

export type Version = number | string;

/**
 * One past the largest existing `version_<int>` directory under `versionsRoot`, or 0 when there is
 * none or the folder does not exist yet. Like Lightning, only directories count and the integer is
 * the text between the first and second underscore (`version_3_old` counts as 3; `version_x`
 * and plain files are ignored).
 */
export function nextVersion(versionsRoot: string): number {
  let entries: fs.Dirent[];
  try {
    entries = fs.readdirSync(versionsRoot, { withFileTypes: true });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return 0;
    throw err;
  }
  let largest = -1;
  for (const entry of entries) {
    if (!entry.name.startsWith("version_")) continue;
    if (!isDirectory(versionsRoot, entry)) continue;
    const token = entry.name.split("_")[1];
    if (!/^\d+$/.test(token)) continue;
    largest = Math.max(largest, Number.parseInt(token, 10));
  }
  return largest + 1;
}

/** A symlink to a directory counts as a directory, as `os.path.isdir` does in Python. */
function isDirectory(parent: string, entry: fs.Dirent): boolean {
  if (entry.isDirectory()) return true;
  if (!entry.isSymbolicLink()) return false;
  try {
    return fs.statSync(path.join(parent, entry.name)).isDirectory();
  } catch {
    return false;
  }
}

/** The directory name for a version: numbers become `version_<N>`, strings are used verbatim. */
export function versionDirName(version: Version): string {
  return typeof version === "string" ? version : `version_${version}`;
}

/** Checks a user-supplied version early, where the mistake is made, not at the first write. */
export function validateVersion(version: Version | undefined | null): Version | undefined {
  if (version === undefined || version === null) return undefined;
  if (typeof version === "number") {
    if (!Number.isInteger(version) || version < 0) {
      throw new Error(`version must be a non-negative integer or a string, got ${version}`);
    }
    return version;
  }
  // Nested names ("2024-06-01/run3") are allowed, as in Lightning; names that would resolve to
  // the experiment folder itself or its parent are not.
  if (version.length === 0 || version === "." || version === "..") {
    throw new Error(`version ${JSON.stringify(version)} is not a usable directory name`);
  }
  return version;
}

/**
 * Where one logger writes: `<saveDir>/<name>/<version dir>[/<subDir>]`. The version is resolved
 * on first use, not at construction, as Lightning does: a logger built before another run of the
 * same script created its directory still gets a fresh number, and ranks other than 0 (which
 * never write) do not need the folder to exist.
 */
export class ExperimentDirectory {
  private resolvedVersion: Version | undefined;

  constructor(
    readonly saveDir: string,
    readonly name: string,
    version?: Version | null,
    readonly subDir?: string,
  ) {
    this.resolvedVersion = validateVersion(version);
  }

  get version(): Version {
    this.resolvedVersion ??= nextVersion(this.rootDir);
    return this.resolvedVersion;
  }

  /** `<saveDir>/<name>`, or `<saveDir>` when the name is empty. */
  get rootDir(): string {
    return path.join(this.saveDir, this.name);
  }

  get logDir(): string {
    const dir = path.join(this.rootDir, versionDirName(this.version));
    return this.subDir ? path.join(dir, this.subDir) : dir;
  }
}
