import { MisconfigurationError } from "../../errors.ts";
import { RankedEnvironment } from "./ranked_environment.ts";
import { readInt, type Env, type MainAddress } from "./env_vars.ts";

/**
 * Processes started by `mpirun` (Lightning's `MPIEnvironment`): Open MPI's
 * `OMPI_COMM_WORLD_RANK` / `_LOCAL_RANK` / `_SIZE` / `_LOCAL_SIZE`, or MPICH's / Intel MPI's
 * `PMI_RANK` / `PMI_SIZE` / `MPI_LOCALRANKID`. MPI does not say where rank 0 runs: on one node
 * that is this machine; across nodes `MASTER_ADDR` must name rank 0's host. The port is
 * `MASTER_PORT`, else Lightning's default 12910.
 */
export class MPIEnvironment extends RankedEnvironment {
  constructor(private readonly env: Env = process.env) {
    super(
      env.OMPI_COMM_WORLD_SIZE !== undefined ? readInt(env, "OMPI_COMM_WORLD_SIZE", 1, 1) : readInt(env, "PMI_SIZE", 1, 1),
      env.OMPI_COMM_WORLD_RANK !== undefined ? readInt(env, "OMPI_COMM_WORLD_RANK", 0, 0) : readInt(env, "PMI_RANK", 0, 0),
    );
  }

  static detect(env: Env = process.env): boolean {
    return env.OMPI_COMM_WORLD_RANK !== undefined || env.PMI_RANK !== undefined;
  }

  get createsProcessesExternally(): boolean {
    return true;
  }

  localRank(): number {
    return this.env.OMPI_COMM_WORLD_LOCAL_RANK !== undefined ? readInt(this.env, "OMPI_COMM_WORLD_LOCAL_RANK", 0, 0) : readInt(this.env, "MPI_LOCALRANKID", 0, 0);
  }

  /** Processes per node (Open MPI says; otherwise every process on one node). */
  private localSize(): number {
    return readInt(this.env, "OMPI_COMM_WORLD_LOCAL_SIZE", this.worldSize(), 1);
  }

  nodeRank(): number {
    return Math.floor(this.globalRank() / this.localSize());
  }

  mainAddress(): MainAddress {
    const port = readInt(this.env, "MASTER_PORT", 12910, 1);
    if (this.env.MASTER_ADDR) return { host: this.env.MASTER_ADDR, port, source: "MASTER_ADDR:MASTER_PORT" };
    if (this.localSize() < this.worldSize()) {
      throw new MisconfigurationError(
        "mpirun started processes on several nodes, and MPI does not say where rank 0 runs: set MASTER_ADDR to its host (mpirun -x MASTER_ADDR=<host>)",
      );
    }
    return { host: "127.0.0.1", port, source: "this machine (all MPI ranks on one node):MASTER_PORT" };
  }
}
