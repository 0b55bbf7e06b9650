/**
 * `strategy: "ddp_spawn"` (Lightning's `DDPStrategy` with `start_method="spawn"`): DDP in worker
 * processes the Trainer starts for each of its calls, while the process the user started only
 * launches them and takes back rank 0's results (launchers/multiprocessing.ts). Inside a worker
 * it is the ddp strategy, its ranks set by the launcher.
 */
import { DDPStrategy } from "./ddp.ts";
import { spawnWorker } from "./launchers/multiprocessing.ts";

export class DDPSpawnStrategy extends DDPStrategy {
  override readonly name: string = "ddp_spawn";
  /** In a worker: set once the call it was started for runs (the Trainer sets it). */
  runningWorkerCall = false;

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
