// LIGHTNING_TS_NUM_THREADS > 1 (issue 11): the threaded WASM build starts under Node with that
// many threads, lightning-ts's own SIMD kernels run on its shared memory, the losses are those
// of one thread bit for bit (XNNPACK splits a product by output, never a sum), a plain script's
// first op (before `ready()`) runs, and a script ends by itself; a mistyped count is an error.
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { sourceConditionFlags } from "../../../src/cli/source_condition";
import { traceLosses } from "../../../src/cli/verify";
import { FIXTURES } from "../../fixtures/corpus";

const here = path.dirname(fileURLToPath(import.meta.url));
const repo = path.resolve(here, "../../..");
const tsx = path.join(repo, "node_modules/.bin/tsx");
const BACKEND_READY = pathToFileURL(path.join(repo, "src/torch/backends/ready_at_start.ts")).href;
const tmp = mkdtempSync(path.join(tmpdir(), "lightning-ts-threads-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function probe(threads: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(tsx, [path.join(here, "scripts/threads_probe.ts")], {
      cwd: repo,
      env: { ...process.env, LIGHTNING_TS_BACKEND: "", LIGHTNING_TS_NUM_THREADS: threads, NODE_OPTIONS: sourceConditionFlags().join(" ") },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    // A pool that kept the process alive would run into this.
    const timer = setTimeout(() => child.kill("SIGKILL"), 60_000);
    child.on("error", reject);
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

describe("LIGHTNING_TS_NUM_THREADS", () => {
  it("2: the threaded build runs the CNN with 2 threads and every SIMD kernel, one thread's losses bit for bit, and the script ends by itself", async () => {
    const [one, two] = await Promise.all([probe("1"), probe("2")]);
    expect(one.code, one.stderr).toBe(0);
    expect(two.code, two.stderr).toBe(0);
    const a = JSON.parse(one.stdout.trim().split("\n").at(-1)!);
    const b = JSON.parse(two.stdout.trim().split("\n").at(-1)!);
    expect(a).toMatchObject({ backend: "wasm", threads: 1, failures: [] });
    expect(a.before.backend).toBe("wasm");
    expect(b).toMatchObject({ backend: "wasm", threads: 2, failures: [] });
    // Before ready() the pure-JS backend ran the first op.
    expect(b.before).toEqual({ backend: "cpu", value: [1, 4] });
    expect(b.losses).toEqual(a.losses);
  }, 120_000);

  it("a count that is not a positive integer stops the import with a message naming the variable", async () => {
    const run = await probe("two");
    expect(run.code).not.toBe(0);
    expect(run.stderr).toContain("LIGHTNING_TS_NUM_THREADS must be a positive integer (or 'auto'), got 'two'");
  }, 60_000);

  for (const file of ["input.ts", "module.output.ts"]) {
    // (the plain script started with the backend running, `--import lightning-ts/backend-ready`:
    // otherwise its model is made on the pure-JS backend while the pool starts, as with WebGPU)
    it(`the cnn fixture's ${file}: the same 8 losses with 2 threads as with 1`, async () => {
      const runs = await Promise.all(
        ["1", "2"].map((threads) =>
          traceLosses(path.join(FIXTURES.dir, "cnn", file), {
            trace: path.join(mkdtempSync(path.join(tmp, `${threads}-`)), "loss.trace"),
            steps: 8,
            cwd: repo,
            env: { ...process.env, LIGHTNING_TS_BACKEND: "wasm", LIGHTNING_TS_NUM_THREADS: threads },
            timeoutMs: 120_000,
            nodeArgs: ["--import", BACKEND_READY],
          }),
        ),
      );
      for (const r of runs) expect(r.failure, r.stderrTail).toBeNull();
      expect(runs[0]!.lines).toHaveLength(8);
      expect(runs[1]!.lines).toEqual(runs[0]!.lines);
    }, 180_000);
  }
});
