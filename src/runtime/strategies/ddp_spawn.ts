/**
 * `strategy: "ddp_spawn"` (Lightning's `DDPStrategy` with `start_method="spawn"`): DDP in worker
 * processes the Trainer starts for each of its calls, while the process the user started only
 * launches them and takes back rank 0's results (launchers/multiprocessing.ts). Inside a worker
 * it is the ddp strategy, its ranks set by the launcher.
 */
import { DDPStrategy } from "./ddp.ts";
import { exitWorker, launchSpawnWorkers, loadLauncherState, nextSpawnCall, saveWorkerOutput, spawnWorker, type WorkerOutput } from "./launchers/multiprocessing.ts";

/** What a Trainer call or a Lite `run()` gives `runCall`. */
export interface SpawnedCall<T> {
  /** The caller's module state, which each worker starts from. */
  state(): Record<string, unknown>;
  /** What a worker's earlier call (the launcher ran it) returns. */
  skipped: T;
  /** The call itself, in a worker, from the launcher's state. */
  run(state: Record<string, unknown>): Promise<T>;
  /** What rank 0 hands back to the launcher once the call is done. */
  output(results: T): WorkerOutput;
  /** In the launcher: what the call returns there, from rank 0's output. */
  takeBack(out: WorkerOutput): T;
}

export class DDPSpawnStrategy extends DDPStrategy {
  override readonly name: string = "ddp_spawn";
  /** In a worker: set once the call it was started for runs. */
  private runningWorkerCall = false;

  /**
   * One Trainer call or Lite `run()` (launchers/multiprocessing.ts): in the launching process the
   * workers run it and rank 0's output is taken back; in a worker the calls before its own are
   * skipped, its own runs from the launcher's state, rank 0 hands its output back, and the worker
   * exits once every rank has (the code after the call is the launcher's).
   */
  async runCall<T>(call: SpawnedCall<T>): Promise<T> {
    const index = nextSpawnCall();
    const worker = spawnWorker();
    if (worker === null) {
      const out = await launchSpawnWorkers({ nprocs: this.parallelDevices.length, call: index, state: call.state(), mainAddress: this.clusterEnvironment.mainAddress().host });
      return call.takeBack(out);
    }
    if (index < worker.call) return call.skipped;
    const state = await loadLauncherState(worker.dir);
    this.runningWorkerCall = true;
    const results = await call.run(state);
    if (this.isGlobalZero) await saveWorkerOutput(worker.dir, call.output(results));
    this.barrier("ddp_spawn worker output");
    return exitWorker();
  }

  /**
   * A worker runs the script's own code between the Trainer's calls too (Python's spawn re-runs
   * a module's top level the same way): there, rank-zero-only code (`if (trainer.isGlobalZero)
   * save(...)`) is the launcher's to run, not the worker's.
   */
  override get isGlobalZero(): boolean {
    if (spawnWorker() !== null && !this.runningWorkerCall) return false;
    return super.isGlobalZero;
  }

  /**
   * The launching process is not one of the job's ranks (torch.distributed is not initialised
   * there), nor is a worker before the call it runs: a barrier or a broadcast in the script's own
   * code between the calls is a single process's, as Lightning's are without a process group.
   */
  private get inLauncher(): boolean {
    return spawnWorker() === null || !this.isEnvironmentReady();
  }

  override barrier(name?: string): void {
    if (!this.inLauncher) super.barrier(name);
  }

  override broadcast<T>(value: T, src: number): T {
    return this.inLauncher ? value : super.broadcast(value, src);
  }
}
