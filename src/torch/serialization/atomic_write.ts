/**
 * Atomic file replacement: the target is either its old content or the complete new content,
 * never a half-written file, whatever happens mid-write (exception, SIGKILL, power loss).
 *
 * Recipe: write into a fresh temporary file in the target's directory (same filesystem, so the
 * rename is atomic), fsync it so its bytes are on disk before its name is, rename it over the
 * target (POSIX rename replaces atomically), then fsync the directory so the rename itself is
 * durable. On an error the temporary file is removed; after a hard kill it stays behind as
 * `.<name>.tmp-<pid>-<random>` and the target is untouched.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { randomBytes } from "node:crypto";

function tempPathFor(target: string): string {
  return path.join(path.dirname(target), `.${path.basename(target)}.tmp-${process.pid}-${randomBytes(4).toString("hex")}`);
}

/** The target's permission bits, so replacing a file keeps its mode. */
function existingMode(target: string): number | null {
  try {
    return fs.statSync(target).mode & 0o7777;
  } catch {
    return null;
  }
}

function wrap(who: string, target: string, e: unknown): Error {
  const msg = e instanceof Error ? e.message : String(e);
  const dir = path.dirname(target);
  const hint = (e as NodeJS.ErrnoException)?.code === "ENOENT" && !fs.existsSync(dir) ? ` (directory ${dir} does not exist)` : "";
  return new Error(`${who}: cannot write ${target}${hint}: ${msg}`, { cause: e });
}

function syncDirSync(dir: string): void {
  // Durability of the rename; some filesystems (and Windows) cannot fsync a directory.
  let fd: number | null = null;
  try {
    fd = fs.openSync(dir, "r");
    fs.fsyncSync(fd);
  } catch {
    /* best effort */
  } finally {
    if (fd !== null) fs.closeSync(fd);
  }
}

export function writeFileAtomicSync(target: string, chunks: readonly Uint8Array[], who = "save"): void {
  const abs = path.resolve(target);
  const tmp = tempPathFor(abs);
  const mode = existingMode(abs);
  let fd: number | null = null;
  try {
    fd = fs.openSync(tmp, "wx", mode ?? 0o666);
    if (mode !== null) fs.fchmodSync(fd, mode); // open's mode is filtered by the umask
    for (const chunk of chunks) {
      let done = 0;
      while (done < chunk.length) done += fs.writeSync(fd, chunk, done, chunk.length - done);
    }
    fs.fsyncSync(fd);
    fs.closeSync(fd);
    fd = null;
    fs.renameSync(tmp, abs);
  } catch (e) {
    if (fd !== null) {
      try {
        fs.closeSync(fd);
      } catch {
        /* already failing */
      }
    }
    fs.rmSync(tmp, { force: true });
    throw wrap(who, abs, e);
  }
  syncDirSync(path.dirname(abs));
}

export async function writeFileAtomic(target: string, chunks: readonly Uint8Array[], who = "save"): Promise<void> {
  const abs = path.resolve(target);
  const tmp = tempPathFor(abs);
  const mode = existingMode(abs);
  let handle: fs.promises.FileHandle | null = null;
  try {
    handle = await fs.promises.open(tmp, "wx", mode ?? 0o666);
    if (mode !== null) await handle.chmod(mode);
    for (const chunk of chunks) {
      let done = 0;
      while (done < chunk.length) {
        const { bytesWritten } = await handle.write(chunk, done, chunk.length - done);
        done += bytesWritten;
      }
    }
    await handle.sync();
    await handle.close();
    handle = null;
    await fs.promises.rename(tmp, abs);
  } catch (e) {
    if (handle !== null) await handle.close().catch(() => undefined);
    await fs.promises.rm(tmp, { force: true });
    throw wrap(who, abs, e);
  }
  syncDirSync(path.dirname(abs));
}
