// DDP end to end, as users run it: whole scripts in processes of their own. The reference is a
// single process: 2 processes with batch B each must end with the weights of 1 process with
// batch 2B (the mean of the two halves' gradients is the whole batch's), for Lite and for the
// Trainer; a launcher's environment set by hand (torchrun-style) gives the same; every
// collective is checked on 2, 3 and 4 ranks; a failing rank stops the job with its name.
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { tsxLoaderUrl } from "../../../src/cli/verify";
import { freePort } from "../../../src/runtime/strategies/launchers/subprocess_script";
import { probeWebGPUAdapter } from "../../../src/runtime/accelerators/webgpu_adapter";

const SCRIPTS = resolve(import.meta.dirname, "ddp_scripts");
const webgpu = probeWebGPUAdapter();
const dir = mkdtempSync(join(tmpdir(), "lt-ddp-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
  ms: number;
}

function run(script: string, env: Record<string, string>, timeoutMs = 120_000): Promise<Run> {
  const started = Date.now();
  return new Promise((done) => {
    const child = spawn(process.execPath, ["--conditions=lightning-ts:source", "--import", tsxLoaderUrl(), join(SCRIPTS, script)], {
      cwd: dir,
      env: { ...process.env, LIGHTNING_TS_QUIET: "1", ...env },
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
    child.on("close", (code) => {
      clearTimeout(timer);
      done({ code, stdout, stderr, ms: Date.now() - started });
    });
  });
}

/** A port in [lo, hi] nothing listens on (tried at random). */
async function freePortBetween(lo: number, hi: number): Promise<number> {
  for (;;) {
    const port = lo + Math.floor(Math.random() * (hi - lo + 1));
    const server = createServer();
    const ok = await new Promise<boolean>((done) => {
      server.once("error", () => done(false));
      server.listen(port, "127.0.0.1", () => done(true));
    });
    if (ok) {
      await new Promise<void>((done) => server.close(() => done()));
      return port;
    }
  }
}

const read = (file: string) => JSON.parse(readFileSync(file, "utf8"));

function maxRelativeDifference(a: number[][], b: number[][]): number {
  let worst = 0;
  a.forEach((p, i) => p.forEach((v, j) => (worst = Math.max(worst, Math.abs(v - b[i]![j]!) / Math.max(Math.abs(v), 1e-6)))));
  return worst;
}

describe("DDP on CPU processes", () => {
  it("Lite: 2 self-launched processes with batch 8 end with the weights of 1 process with batch 16", async () => {
    const [one, two] = await Promise.all([
      run("lite_mlp.ts", { DEVICES: "1", OUT: join(dir, "lite1.json") }),
      run("lite_mlp.ts", { DEVICES: "2", OUT: join(dir, "lite2.json") }),
    ]);
    expect(one.code, one.stderr).toBe(0);
    expect(two.code, two.stderr).toBe(0);
    const a = read(join(dir, "lite1.json"));
    const b = read(join(dir, "lite2.json"));
    expect([a.worldSize, b.worldSize]).toEqual([1, 2]);
    // (allReduce of rank + 1: 1 + 2 over the two ranks)
    expect(b.rankSum).toBe(3);
    expect(maxRelativeDifference(a.weights, b.weights)).toBeLessThan(1e-5);
  }, 180_000);

  it("Lite: gradient buckets of about one parameter each, started during backward, average to the same bits as one bucket (2 ranks: a + b, then / 2)", async () => {
    const [whole, split] = await Promise.all([
      run("lite_mlp.ts", { DEVICES: "2", OUT: join(dir, "bucket-whole.json") }),
      // 100 bytes: every parameter of the MLP in a bucket of its own
      run("lite_mlp.ts", { DEVICES: "2", OUT: join(dir, "bucket-split.json"), LIGHTNING_TS_DDP_BUCKET_CAP_MB: String(100 / 2 ** 20) }),
    ]);
    expect(whole.code, whole.stderr).toBe(0);
    expect(split.code, split.stderr).toBe(0);
    const a = read(join(dir, "bucket-whole.json"));
    const b = read(join(dir, "bucket-split.json"));
    expect(b.buckets).toBeGreaterThan(a.buckets);
    expect(b.weights).toEqual(a.weights);
  }, 180_000);

  it("the Trainer: the same, a syncDist metric is the mean over the ranks (the whole batch's loss), and the job stays joined for validate() after fit and for a second Trainer", async () => {
    const [one, two] = await Promise.all([
      run("trainer_mlp.ts", { DEVICES: "1", OUT: join(dir, "trainer1.json"), THEN_VALIDATE: join(dir, "validate1.json") }),
      run("trainer_mlp.ts", { DEVICES: "2", OUT: join(dir, "trainer2.json"), THEN_VALIDATE: join(dir, "validate2.json"), SECOND_TRAINER: join(dir, "second2.json") }),
    ]);
    expect(one.code, one.stderr).toBe(0);
    expect(two.code, two.stderr).toBe(0);
    const a = read(join(dir, "trainer1.json"));
    const b = read(join(dir, "trainer2.json"));
    expect(b.worldSize).toBe(2);
    expect(maxRelativeDifference(a.weights, b.weights)).toBeLessThan(1e-5);
    expect(Math.abs(b.loss - a.loss) / a.loss).toBeLessThan(1e-5);
    const [va] = read(join(dir, "validate1.json"));
    const [vb] = read(join(dir, "validate2.json"));
    expect(Math.abs(vb.val_loss - va.val_loss) / va.val_loss).toBeLessThan(1e-5);
    // A second Trainer in the same script joins the same job again (one per process).
    const [second] = read(join(dir, "second2.json"));
    expect(second.val_loss).toBe(vb.val_loss);
  }, 180_000);

  it("on WebGPU (Mesa's llvmpipe in CI): 2 ranks end with the weights of 1 process, within float32 noise of the GPU's reductions", async () => {
    if (!webgpu.found) {
      expect(process.env.CI, `no WebGPU adapter: ${webgpu.reason}`).not.toBe("true");
      return;
    }
    const env = { ACCELERATOR: "webgpu", LIGHTNING_TS_WEBGPU_ALLOW_SOFTWARE: "1" };
    const [one, two] = await Promise.all([
      run("lite_mlp.ts", { ...env, DEVICES: "1", OUT: join(dir, "webgpu1.json") }, 300_000),
      run("lite_mlp.ts", { ...env, DEVICES: "2", OUT: join(dir, "webgpu2.json") }, 300_000),
    ]);
    expect(one.code, one.stderr).toBe(0);
    expect(two.code, two.stderr).toBe(0);
    const b = read(join(dir, "webgpu2.json"));
    expect(b.worldSize).toBe(2);
    // (1.2e-5 measured: the GPU sums a batch in another order than the ring sums two halves)
    expect(maxRelativeDifference(read(join(dir, "webgpu1.json")).weights, b.weights)).toBeLessThan(1e-4);
  }, 600_000);

  it("ddp_spawn: the launching process does not train; each Trainer call runs in 2 workers and brings back rank 0's weights (the single-process ones), metrics and results", async () => {
    const r = await run("trainer_mlp.ts", {
      STRATEGY: "ddp_spawn",
      DEVICES: "2",
      OUT: join(dir, "spawn.json"),
      THEN_VALIDATE: join(dir, "spawn_validate.json"),
      SECOND_TRAINER: join(dir, "spawn_second.json"),
    });
    expect(r.code, r.stderr).toBe(0);
    const a = read(join(dir, "trainer1.json"));
    const b = read(join(dir, "spawn.json"));
    // (written by this process, after fit: world size 1 here, rank 0's weights loaded back)
    expect(b.worldSize).toBe(1);
    expect(maxRelativeDifference(a.weights, b.weights)).toBeLessThan(1e-5);
    expect(Math.abs(b.loss - a.loss) / a.loss).toBeLessThan(1e-5);
    // validate() after fit: new workers start from the trained weights
    const [va] = read(join(dir, "validate1.json"));
    const [vb] = read(join(dir, "spawn_validate.json"));
    expect(Math.abs(vb.val_loss - va.val_loss) / va.val_loss).toBeLessThan(1e-5);
    expect(read(join(dir, "spawn_second.json"))).toEqual([vb]);
  }, 180_000);

  it("ddp_spawn under Lite: run() runs in 2 workers and the launcher gets what rank 0's run() returned (the single-process weights)", async () => {
    const r = await run("lite_mlp.ts", { STRATEGY: "ddp_spawn", DEVICES: "2", OUT: join(dir, "lite_spawn.json") });
    expect(r.code, r.stderr).toBe(0);
    const b = read(join(dir, "lite_spawn.json"));
    expect([b.worldSize, b.rankSum]).toEqual([2, 3]);
    expect(maxRelativeDifference(read(join(dir, "lite1.json")).weights, b.weights)).toBeLessThan(1e-5);
  }, 180_000);

  it("ddp_spawn: a worker that throws fails the launcher's fit with a DistributedError naming its rank", async () => {
    const r = await run("trainer_mlp.ts", { STRATEGY: "ddp_spawn", DEVICES: "2", CRASH_RANK: "1", OUT: join(dir, "spawn_crash.json"), LIGHTNING_TS_DDP_TIMEOUT: "20" });
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain("rank 1 fails on purpose");
    expect(r.stderr).toMatch(/DistributedError: ddp_spawn: rank 1 exited with code 1/);
    expect(r.ms).toBeLessThan(60_000);
  }, 120_000);

  it("a launcher's environment set by hand (torchrun-style: RANK, LOCAL_RANK, WORLD_SIZE, MASTER_ADDR, MASTER_PORT): no relaunch, same weights", async () => {
    const port = await freePort();
    const common = { DEVICES: "1", WORLD_SIZE: "2", LOCAL_WORLD_SIZE: "2", MASTER_ADDR: "127.0.0.1", MASTER_PORT: String(port) };
    const ranks = await Promise.all(
      [0, 1].map((r) => run("lite_mlp.ts", { ...common, RANK: String(r), LOCAL_RANK: String(r), OUT: join(dir, `torchrun${r}.json`) })),
    );
    for (const r of ranks) expect(r.code, r.stderr).toBe(0);
    // Only rank 0 writes; rank 1 wrote nothing.
    expect(readdirSync(dir).filter((f) => f.startsWith("torchrun"))).toEqual(["torchrun0.json"]);
    const single = read(join(dir, "lite1.json"));
    const b = read(join(dir, "torchrun0.json"));
    expect(b.worldSize).toBe(2);
    expect(maxRelativeDifference(single.weights, b.weights)).toBeLessThan(1e-5);
  }, 180_000);

  it("SLURM's environment set by hand (srun's SLURM_PROCID/LOCALID/NODEID/NTASKS, SLURM_NODELIST, port from SLURM_JOB_ID): no relaunch, same weights", async () => {
    // Lightning's port rule: 15000 + the job id's last four digits; a job id whose port is free.
    const port = await freePortBetween(15000, 24999);
    const common = {
      DEVICES: "1",
      SLURM_NTASKS: "2",
      SLURM_NODEID: "0",
      SLURM_NODELIST: "localhost",
      SLURM_JOB_ID: String(4_200_000 + (port - 15000)),
      SLURM_JOB_NAME: "train",
    };
    const ranks = await Promise.all(
      [0, 1].map((r) => run("lite_mlp.ts", { ...common, SLURM_PROCID: String(r), SLURM_LOCALID: String(r), OUT: join(dir, `slurm${r}.json`) })),
    );
    for (const r of ranks) expect(r.code, r.stderr).toBe(0);
    expect(readdirSync(dir).filter((f) => f.startsWith("slurm"))).toEqual(["slurm0.json"]);
    const b = read(join(dir, "slurm0.json"));
    expect(b.worldSize).toBe(2);
    expect(maxRelativeDifference(read(join(dir, "lite1.json")).weights, b.weights)).toBeLessThan(1e-5);
  }, 180_000);

  it("two nodes on this machine (NODE_RANK 0 and 1, numNodes 2, 2 devices each): one world of 4, the single-process weights", async () => {
    const port = await freePort();
    const common = { DEVICES: "2", NUM_NODES: "2", MASTER_ADDR: "127.0.0.1", MASTER_PORT: String(port) };
    const nodes = await Promise.all([0, 1].map((n) => run("lite_mlp.ts", { ...common, NODE_RANK: String(n), OUT: join(dir, `node${n}.json`) })));
    for (const r of nodes) expect(r.code, r.stderr).toBe(0);
    // Global rank 0 (node 0) writes; node 1's local rank 0 is global rank 2 and does not.
    expect(readdirSync(dir).filter((f) => /^node\d\.json$/.test(f))).toEqual(["node0.json"]);
    const b = read(join(dir, "node0.json"));
    expect([b.worldSize, b.rankSum]).toEqual([4, 1 + 2 + 3 + 4]);
    expect(maxRelativeDifference(read(join(dir, "lite1.json")).weights, b.weights)).toBeLessThan(1e-5);
  }, 180_000);

  // CI installs Open MPI (.ci/run); a machine without it says so here.
  const mpirun = spawnSync("mpirun", ["--version"]).status === 0;
  it.runIf(mpirun)("a real launcher: mpirun -np 2 starts both ranks (MPIEnvironment), same weights", async () => {
    const out = join(dir, "mpi.json");
    const r = await new Promise<Run>((done) => {
      const started = Date.now();
      const child = spawn(
        "mpirun",
        ["--allow-run-as-root", "--oversubscribe", "-np", "2", "-x", "OUT", "-x", "DEVICES", "-x", "LIGHTNING_TS_QUIET", process.execPath, "--conditions=lightning-ts:source", "--import", tsxLoaderUrl(), join(SCRIPTS, "lite_mlp.ts")],
        { cwd: dir, env: { ...process.env, DEVICES: "1", OUT: out, LIGHTNING_TS_QUIET: "1", OMPI_ALLOW_RUN_AS_ROOT: "1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM: "1" } },
      );
      let stdout = "";
      let stderr = "";
      child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
      child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
      child.on("close", (code) => done({ code, stdout, stderr, ms: Date.now() - started }));
    });
    expect(r.code, r.stderr).toBe(0);
    const single = read(join(dir, "lite1.json"));
    const b = read(out);
    expect(b.worldSize).toBe(2);
    expect(maxRelativeDifference(single.weights, b.weights)).toBeLessThan(1e-5);
  }, 180_000);

  for (const worldSize of [2, 3, 4]) {
    it(`every collective on ${worldSize} ranks: allReduce (sum, mean, max, min; 1 element to 4 MB), broadcast, allGather, barrier`, async () => {
      const out = mkdtempSync(join(dir, `coll${worldSize}-`));
      const port = await freePort();
      const runs = await Promise.all(
        Array.from({ length: worldSize }, (_, r) => run("collectives.ts", { RANK: String(r), WORLD_SIZE: String(worldSize), MASTER_PORT: String(port), OUT_DIR: out })),
      );
      for (const r of runs) expect(r.code, r.stderr).toBe(0);
      const n = worldSize;
      const ranks = Array.from({ length: n }, (_, r) => r);
      for (const r of ranks) {
        const got = read(join(out, `${r}.json`));
        const mine = (k: number) => [k + 1, -(k + 1), 10 * k];
        const column = (i: number) => ranks.map((k) => mine(k)[i]!);
        expect(got.sum).toEqual([0, 1, 2].map((i) => column(i).reduce((s, v) => s + v, 0)));
        expect(got.mean.map((v: number) => Number(v.toFixed(5)))).toEqual([0, 1, 2].map((i) => Number((column(i).reduce((s, v) => s + v, 0) / n).toFixed(5))));
        expect(got.max).toEqual([0, 1, 2].map((i) => Math.max(...column(i))));
        expect(got.min).toEqual([0, 1, 2].map((i) => Math.min(...column(i))));
        expect(got.one).toEqual([(n * (n - 1)) / 2]);
        expect(got.broadcast).toBe(`from rank ${n - 1}`);
        expect(got.gathered).toEqual(ranks.map((k) => [k, k * k]));
        expect(got.big).toEqual({ n: 1 << 20, bad: 0 });
      }
    }, 120_000);
  }

  it("a rank that fails stops the job: the launcher exits non-zero, naming the rank, well within the timeout", async () => {
    const r = await run("lite_mlp.ts", { DEVICES: "2", CRASH_RANK: "1", OUT: join(dir, "crash.json"), LIGHTNING_TS_DDP_TIMEOUT: "20" });
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain("rank 1 fails on purpose");
    expect(r.stderr).toMatch(/rank 1/);
    expect(r.ms).toBeLessThan(20_000);
  }, 60_000);

  it("a rank killed with SIGKILL mid-epoch: the others exit non-zero at once, naming it, and no process is left behind", async () => {
    const marker = `ddp-kill-${process.pid}-${Date.now()}`;
    const r = await run("lite_mlp.ts", { DEVICES: "2", KILL_RANK: "1", OUT: join(dir, "kill.json"), LIGHTNING_TS_DDP_TIMEOUT: "20", DDP_TEST_MARKER: marker });
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/rank 1/);
    expect(r.ms).toBeLessThan(20_000);
    // Every process of the job carried the marker in its environment: none is still running.
    const alive = spawnSync("sh", ["-c", `grep -l ${marker} /proc/[0-9]*/environ 2>/dev/null | wc -l`], { encoding: "utf8" }).stdout.trim();
    expect(alive).toBe("0");
  }, 60_000);

  it("the launcher killed with SIGTERM mid-training: the other rank fails at its next collective and exits, leaving no process", async () => {
    const marker = `ddp-term-${process.pid}-${Date.now()}`;
    const child = spawn(process.execPath, ["--conditions=lightning-ts:source", "--import", tsxLoaderUrl(), join(SCRIPTS, "lite_mlp.ts")], {
      cwd: dir,
      env: { ...process.env, LIGHTNING_TS_QUIET: "1", DEVICES: "2", EPOCHS: "100000", OUT: join(dir, "term.json"), DDP_TEST_MARKER: marker, TRAINING_MARKER: join(dir, marker) },
      stdio: "ignore",
    });
    // (the ranks, not tsx's esbuild service, which also carries the environment)
    const count = () =>
      Number(spawnSync("sh", ["-c", `for f in $(grep -l ${marker} /proc/[0-9]*/environ 2>/dev/null); do tr '\\0' ' ' < \${f%environ}cmdline; echo; done | grep -c lite_mlp.ts`], { encoding: "utf8" }).stdout.trim());
    // Both ranks training (each has taken a step: past the rendezvous, which a slow start can
    // still be in seconds after both processes exist).
    const training = () => [0, 1].every((r) => existsSync(join(dir, `${marker}.${r}`)));
    for (let t = 0; t < 400 && !training(); t++) await new Promise((r) => setTimeout(r, 100));
    expect(training()).toBe(true);
    expect(count()).toBe(2);
    child.kill("SIGTERM");
    const started = Date.now();
    while (count() > 0 && Date.now() - started < 20_000) await new Promise((r) => setTimeout(r, 100));
    expect(count()).toBe(0);
  }, 60_000);

  it("a peer that never starts: rank 0 gives up after the timeout, saying which address and variable", async () => {
    const port = await freePort();
    const r = await run("lite_mlp.ts", { DEVICES: "1", RANK: "0", LOCAL_RANK: "0", WORLD_SIZE: "2", MASTER_PORT: String(port), LIGHTNING_TS_DDP_TIMEOUT: "3", OUT: join(dir, "alone.json") }, 60_000);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain(`rank 0 could not join the job: not every rank of WORLD_SIZE=2 joined through the store at 127.0.0.1:${port} (MASTER_ADDR:MASTER_PORT)`);
    expect(r.ms).toBeLessThan(30_000);
  }, 60_000);
});
