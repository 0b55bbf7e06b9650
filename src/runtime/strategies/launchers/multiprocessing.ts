/**
 * Lightning's `_MultiProcessingLauncher` (strategy `"ddp_spawn"`): the process the user started
 * does not train. Each Trainer call (`fit`, `validate`, `test`, `predict`) starts N worker
 * processes, waits for them, and takes back what rank 0 produced: the trained weights (loaded
 * into the caller's module), the callback metrics, the state and the call's results — so the
 * script goes on after `fit` with a trained model, as with torch.multiprocessing's spawn.
 *
 * Node has no way to start a process at a function, so a worker runs the same script (the
 * entry point, `process.execArgv` and `process.argv`, as the ddp launcher does) with the
 * environment of its rank and of the call it serves: the Trainer calls before that one are
 * skipped in the worker (their effect arrives with the caller's module state, saved before the
 * launch and loaded by the worker), the call runs under DDP, and the worker exits when it
 * returns — the code after it is the caller's, not the workers'.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { load, save } from "../../../torch/serialization/index.ts";
import { DistributedError } from "../../errors.ts";
import { freePort } from "./subprocess_script.ts";

/** What rank 0 hands back to the process that launched the workers. */
export interface WorkerOutput {
  weights: Record<string, unknown>;
  callbackMetrics: Record<string, number>;
  results: unknown;
}

const DIR = "LIGHTNING_TS_SPAWN_DIR";
const CALL = "LIGHTNING_TS_SPAWN_CALL";

/** Trainer calls under ddp_spawn made by this process so far (the launcher and its workers count alike). */
let calls = 0;

/** The index of this Trainer call among the script's ddp_spawn calls, counted from 1. */
export function nextSpawnCall(): number {
  return ++calls;
}

/** In a worker: the call it was started for, and where its inputs and outputs are; null in the launcher. */
export function spawnWorker(): { call: number; dir: string } | null {
  const dir = process.env[DIR];
  const call = Number(process.env[CALL]);
  return dir && Number.isInteger(call) && call > 0 ? { call, dir } : null;
}

/**
 * Runs call number `call` in `nprocs` workers and returns rank 0's output. `state` is the
 * caller's module state, which each worker loads before running the call.
 */
export async function launchSpawnWorkers(options: { nprocs: number; call: number; state: Record<string, unknown>; mainAddress: string; timeoutMs?: number }): Promise<WorkerOutput> {
  const dir = mkdtempSync(join(tmpdir(), "lightning-ts-spawn-"));
  try {
    await save(options.state, join(dir, "state.pt"));
    const port = await freePort();
    const workers: ChildProcess[] = [];
    const exits = [];
    for (let rank = 0; rank < options.nprocs; rank++) {
      const child = spawn(process.execPath, [...process.execArgv, ...process.argv.slice(1)], {
        env: {
          ...process.env,
          RANK: String(rank),
          LOCAL_RANK: String(rank),
          WORLD_SIZE: String(options.nprocs),
          LOCAL_WORLD_SIZE: String(options.nprocs),
          NODE_RANK: "0",
          MASTER_ADDR: options.mainAddress,
          MASTER_PORT: String(port),
          [DIR]: dir,
          [CALL]: String(options.call),
        },
        stdio: "inherit",
      });
      workers.push(child);
      exits.push(
        new Promise<{ rank: number; code: number | null; signal: NodeJS.Signals | null }>((done) => {
          child.on("exit", (code, signal) => done({ rank, code, signal }));
          child.on("error", () => done({ rank, code: 1, signal: null }));
        }),
      );
    }
    // The first worker to fail stops the others (a peer waiting on it would time out anyway).
    const stop = () => workers.forEach((w) => w.exitCode === null && w.signalCode === null && w.kill("SIGTERM"));
    process.once("exit", stop);
    const failures: string[] = [];
    await Promise.all(
      exits.map((e) =>
        e.then(({ rank, code, signal }) => {
          if (code === 0) return;
          failures.push(`rank ${rank} exited with ${signal ?? `code ${code}`}`);
          stop();
        }),
      ),
    );
    process.removeListener("exit", stop);
    if (failures.length > 0) throw new DistributedError(`ddp_spawn: ${failures.join("; ")} (its error is printed above)`);
    const output = join(dir, "output.pt");
    if (!existsSync(output)) throw new DistributedError("ddp_spawn: the workers exited without rank 0's results");
    return await load<WorkerOutput>(output);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** In a worker: the caller's module state the launcher saved. */
export function loadLauncherState(dir: string): Promise<Record<string, unknown>> {
  return load<Record<string, unknown>>(join(dir, "state.pt"));
}

/** In a worker, rank 0: what the launcher takes back. */
export function saveWorkerOutput(dir: string, output: WorkerOutput): Promise<void> {
  return save(output, join(dir, "output.pt"));
}

/**
 * In a worker, once its call is done and its output out: the code after the call is the
 * launcher's, so the worker ends here (after what it printed has left).
 */
export function exitWorker(): Promise<never> {
  return new Promise<never>(() => {
    process.stdout.write("", () => process.stderr.write("", () => process.exit(0)));
  });
}
