import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { createRequire, syncBuiltinESMExports } from "node:module";
import { fileURLToPath } from "node:url";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { tf, save, saveSync, loadSync } from "../../../src/torch/index";

const here = path.dirname(fileURLToPath(import.meta.url));
const repo = path.resolve(here, "..", "..", "..");
const dir = fs.mkdtempSync(path.join(os.tmpdir(), "lts-atomic-"));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

const cjsFs = createRequire(import.meta.url)("node:fs") as typeof fs & Record<string, unknown>;
const restore: Array<() => void> = [];
afterEach(() => {
  while (restore.length) restore.pop()!();
  syncBuiltinESMExports();
});

/** Replaces a function on node:fs (and its ESM view) until the test ends. */
function patch<K extends string>(obj: Record<K, unknown>, key: K, fn: unknown): void {
  const original = obj[key];
  obj[key] = fn;
  restore.push(() => {
    obj[key] = original;
  });
  syncBuiltinESMExports();
}

const oldState = () => ({ version: "old", w: tf.tensor1d([1, 2, 3]) });
function expectOld(file: string): void {
  const back = loadSync<{ version: string; w: tf.Tensor }>(file);
  expect(back.version).toBe("old");
  expect(Array.from(back.w.dataSync())).toEqual([1, 2, 3]);
}
const leftovers = (d: string) => fs.readdirSync(d).filter((n) => n.includes(".tmp-"));

describe("atomic save", () => {
  it("replaces the file and keeps its permission bits", () => {
    const file = path.join(dir, "perm.ckpt");
    saveSync(oldState(), file);
    fs.chmodSync(file, 0o600);
    saveSync({ version: "new" }, file);
    expect(loadSync(file)).toEqual({ version: "new" });
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    expect(leftovers(dir)).toEqual([]);
  });

  it("a write that fails midway (sync) leaves the old file intact and no temporary file", () => {
    const file = path.join(dir, "sync.ckpt");
    saveSync(oldState(), file);
    const realWrite = cjsFs.writeSync;
    let calls = 0;
    patch(cjsFs, "writeSync", (...args: unknown[]) => {
      if (++calls === 3) throw Object.assign(new Error("ENOSPC: no space left on device (injected)"), { code: "ENOSPC" });
      return (realWrite as (...a: unknown[]) => number)(...args);
    });
    expect(() => saveSync({ version: "new", w: tf.ones([1000]), v: tf.ones([1000]) }, file)).toThrow(
      `saveSync: cannot write ${file}: ENOSPC: no space left on device (injected)`,
    );
    expect(calls).toBe(3);
    expectOld(file);
    expect(leftovers(dir)).toEqual([]);
  });

  it("a write that fails midway (async) leaves the old file intact and no temporary file", async () => {
    const file = path.join(dir, "async.ckpt");
    saveSync(oldState(), file);
    const promises = cjsFs.promises as unknown as Record<string, unknown>;
    const realOpen = promises.open as (...a: unknown[]) => Promise<fs.promises.FileHandle>;
    let writes = 0;
    patch(promises, "open", async (...args: unknown[]) => {
      const handle = await realOpen(...args);
      const realHandleWrite = handle.write.bind(handle) as (...a: unknown[]) => Promise<unknown>;
      (handle as unknown as { write: unknown }).write = (...a: unknown[]) =>
        ++writes === 3 ? Promise.reject(new Error("EIO: i/o error (injected)")) : realHandleWrite(...a);
      return handle;
    });
    await expect(save({ version: "new", w: tf.ones([1000]), v: tf.ones([1000]) }, file)).rejects.toThrow(
      `save: cannot write ${file}: EIO: i/o error (injected)`,
    );
    expect(writes).toBe(3);
    expectOld(file);
    expect(leftovers(dir)).toEqual([]);
  });

  it("a missing directory is a clear error", () => {
    const file = path.join(dir, "no", "such", "dir", "x.ckpt");
    expect(() => saveSync({ a: 1 }, file)).toThrow(`saveSync: cannot write ${file} (directory ${path.dirname(file)} does not exist)`);
  });

  it("a process SIGKILLed mid-write leaves the previous checkpoint loadable", async () => {
    const crashDir = fs.mkdtempSync(path.join(dir, "crash-"));
    const file = path.join(crashDir, "model.ckpt");
    saveSync(oldState(), file);
    const child = spawn(process.execPath, ["--import", "tsx", path.join(here, "crash_writer.ts"), file], {
      cwd: repo,
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stderr = "";
    child.stderr.on("data", (d) => (stderr += d));
    const exited = new Promise<NodeJS.Signals | number | null>((resolve) => child.on("exit", (code, signal) => resolve(signal ?? code)));
    // Kill as soon as the temporary file holds part of the new checkpoint.
    const deadline = Date.now() + 30_000;
    let partial: string | null = null;
    while (partial === null && Date.now() < deadline && child.exitCode === null) {
      const tmp = leftovers(crashDir)[0];
      if (tmp !== undefined && fs.statSync(path.join(crashDir, tmp)).size > 100_000) partial = tmp;
      else await new Promise((r) => setTimeout(r, 5));
    }
    expect(partial, `the child never started writing (stderr: ${stderr})`).not.toBeNull();
    child.kill("SIGKILL");
    expect(await exited).toBe("SIGKILL");
    // The target is the old checkpoint, whole; the torn write is only in the temporary file.
    expectOld(file);
    const torn = path.join(crashDir, partial!);
    expect(fs.statSync(torn).size).toBeLessThan(200 * 16384 * 4);
    expect(() => loadSync(torn)).toThrow(/truncated/);
  });
});
