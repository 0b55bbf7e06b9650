/**
 * `--in-place` safety: the file must be committed in a git repository, so that `git diff` shows
 * the migration and `git checkout` undoes it. Anything else needs `--force`.
 */
import { spawnSync } from "node:child_process";
import { basename, dirname } from "node:path";

/** Null when the file may be rewritten, else why not. */
export function inPlaceRefusal(path: string): string | null {
  const status = spawnSync("git", ["status", "--porcelain", "--", basename(path)], {
    cwd: dirname(path),
    encoding: "utf8",
  });
  if (status.error || status.status !== 0) {
    return "--in-place needs the file to be in a git repository (so the change can be reviewed and undone); pass --force to rewrite it anyway";
  }
  if (status.stdout.trim() !== "") {
    const untracked = status.stdout.startsWith("??");
    return `${untracked ? "the file is not committed" : "the file has uncommitted changes"}; commit or stash first, or pass --force`;
  }
  return null;
}
