import { MisconfigurationError } from "../../errors.ts";
import { RankedEnvironment } from "./ranked_environment.ts";
import { readInt, required, type Env, type MainAddress } from "./env_vars.ts";

/**
 * Processes started by torchrun / torchelastic (Lightning's `TorchElasticEnvironment`): ranks
 * from `RANK`, `LOCAL_RANK`, `GROUP_RANK` (the node), `WORLD_SIZE`; the store at
 * `MASTER_ADDR:MASTER_PORT`. With `TORCHELASTIC_USE_AGENT_STORE=True` the agent hosts the store
 * there and every rank, rank 0 included, is only a client of it.
 */
export class TorchElasticEnvironment extends RankedEnvironment {
  constructor(private readonly env: Env = process.env) {
    super(readInt(env, "WORLD_SIZE", 1, 1), readInt(env, "RANK", 0, 0));
  }

  /** torchrun's variables are set (`TORCHELASTIC_RUN_ID`, or the ranks it always sets). */
  static detect(env: Env = process.env): boolean {
    return env.TORCHELASTIC_RUN_ID !== undefined || ["RANK", "GROUP_RANK", "LOCAL_RANK", "LOCAL_WORLD_SIZE"].every((k) => env[k] !== undefined);
  }

  get createsProcessesExternally(): boolean {
    return true;
  }

  /** Whether torchrun's agent already hosts the store (rank 0 must not listen on the port). */
  get usesAgentStore(): boolean {
    return (this.env.TORCHELASTIC_USE_AGENT_STORE ?? "").toLowerCase() === "true";
  }

  localRank(): number {
    return readInt(this.env, "LOCAL_RANK", 0, 0);
  }

  nodeRank(): number {
    return readInt(this.env, "GROUP_RANK", 0, 0);
  }

  mainAddress(): MainAddress {
    return { host: required(this.env, "MASTER_ADDR", "torchrun"), port: readInt(this.env, "MASTER_PORT", 0, 1), source: "MASTER_ADDR:MASTER_PORT (set by torchrun)" };
  }

  override validateSettings(numDevices: number, numNodes: number): void {
    if (numDevices * numNodes !== this.worldSize()) {
      throw new MisconfigurationError(
        `torchrun started WORLD_SIZE=${this.worldSize()} processes, but devices=${numDevices} × numNodes=${numNodes} = ${numDevices * numNodes}: ` +
          `make them agree (torchrun --nproc-per-node ${numDevices} --nnodes ${numNodes}, or devices: ${this.worldSize() / numNodes})`,
      );
    }
  }
}
