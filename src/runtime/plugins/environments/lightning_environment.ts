import { MisconfigurationError } from "../../errors.ts";
import { RankedEnvironment } from "./ranked_environment.ts";
import { readInt, type Env, type MainAddress } from "./env_vars.ts";

/**
 * The default environment (Fabric's `LightningEnvironment`): ranks and world size from the
 * variables torchrun and Lightning's own launcher set — `RANK`, `LOCAL_RANK`, `WORLD_SIZE`,
 * `NODE_RANK` (`GROUP_RANK` as torchrun names it) — and a single process when none is set.
 * `LOCAL_RANK` being set means a launcher started this process.
 */
export class LightningEnvironment extends RankedEnvironment {
  private readonly env: Env;

  constructor(env: Env = process.env) {
    super(readInt(env, "WORLD_SIZE", 1, 1), readInt(env, "RANK", 0, 0));
    this.env = env;
    if (this.globalRank() >= this.worldSize()) {
      throw new MisconfigurationError(
        `RANK=${this.globalRank()} is not below WORLD_SIZE=${this.worldSize()}: ranks run from 0 to WORLD_SIZE-1 ` +
          `(set WORLD_SIZE for a multi-process job, or unset RANK for a single process)`,
      );
    }
    // Validate the others now so a malformed value fails at construction, not mid-training.
    this.localRank();
    this.nodeRank();
  }

  get createsProcessesExternally(): boolean {
    return this.env.LOCAL_RANK !== undefined;
  }

  localRank(): number {
    return readInt(this.env, "LOCAL_RANK", 0, 0);
  }

  nodeRank(): number {
    return this.env.NODE_RANK !== undefined ? readInt(this.env, "NODE_RANK", 0, 0) : readInt(this.env, "GROUP_RANK", 0, 0);
  }

  /** `MASTER_ADDR` (default 127.0.0.1) and `MASTER_PORT` (default 0: the launcher picks a free port and sets it). */
  override mainAddress(): MainAddress {
    return { host: this.env.MASTER_ADDR || "127.0.0.1", port: readInt(this.env, "MASTER_PORT", 0, 0), source: "MASTER_ADDR:MASTER_PORT" };
  }
}
