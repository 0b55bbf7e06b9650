/**
 * Where this process sits in the job (Fabric's `ClusterEnvironment`): its ranks, the world
 * size, and whether a launcher outside lightning-ts started the processes (torchrun, SLURM), in
 * which case the strategy must not start them again.
 */
import type { MainAddress } from "./env_vars.ts";

export abstract class ClusterEnvironment {
  /** True when the processes were started by something else (so Lite must not relaunch). */
  abstract get createsProcessesExternally(): boolean;
  abstract worldSize(): number;
  abstract setWorldSize(size: number): void;
  abstract globalRank(): number;
  abstract setGlobalRank(rank: number): void;
  abstract localRank(): number;
  abstract nodeRank(): number;

  /** Where rank 0's rendezvous store listens (Lightning's `main_address` / `main_port`). */
  abstract mainAddress(): MainAddress;

  /** Checks the Lite flags against the environment (a launcher's world size, say). */
  validateSettings(_numDevices: number, _numNodes: number): void {}

  /** Undoes what the environment set up for this process. */
  teardown(): void {}
}
