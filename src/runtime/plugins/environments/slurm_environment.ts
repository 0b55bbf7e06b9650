import { MisconfigurationError } from "../../errors.ts";
import { RankedEnvironment } from "./ranked_environment.ts";
import { readInt, required, type Env, type MainAddress } from "./env_vars.ts";

/**
 * Processes started by SLURM's `srun` (Lightning's `SLURMEnvironment`): rank `SLURM_PROCID`,
 * local rank `SLURM_LOCALID`, node `SLURM_NODEID`, world `SLURM_NTASKS`; the store on the first
 * host of `SLURM_NODELIST` (bracket ranges expanded), at `MASTER_PORT` or Lightning's rule,
 * 15000 + the last four digits of `SLURM_JOB_ID`. An interactive allocation (`SLURM_JOB_NAME`
 * bash or interactive) is not a job SLURM launched processes for.
 */
export class SLURMEnvironment extends RankedEnvironment {
  constructor(private readonly env: Env = process.env) {
    super(readInt(env, "SLURM_NTASKS", 1, 1), readInt(env, "SLURM_PROCID", 0, 0));
  }

  static detect(env: Env = process.env): boolean {
    return env.SLURM_NTASKS !== undefined && !["bash", "interactive"].includes(env.SLURM_JOB_NAME ?? "");
  }

  get createsProcessesExternally(): boolean {
    return true;
  }

  localRank(): number {
    return readInt(this.env, "SLURM_LOCALID", 0, 0);
  }

  nodeRank(): number {
    return readInt(this.env, "SLURM_NODEID", 0, 0);
  }

  mainAddress(): MainAddress {
    const host = this.env.MASTER_ADDR || firstHost(required(this.env, "SLURM_NODELIST", "srun"));
    if (this.env.MASTER_PORT) return { host, port: readInt(this.env, "MASTER_PORT", 0, 1), source: `${this.env.MASTER_ADDR ? "MASTER_ADDR" : "SLURM_NODELIST"}:MASTER_PORT` };
    const jobId = this.env.SLURM_JOB_ID ?? "";
    const port = /^\d+$/.test(jobId) ? 15000 + Number(jobId.slice(-4)) : 12910;
    return { host, port, source: `${this.env.MASTER_ADDR ? "MASTER_ADDR" : "SLURM_NODELIST"}, port 15000 + SLURM_JOB_ID's last four digits` };
  }

  override validateSettings(numDevices: number, numNodes: number): void {
    if (numDevices * numNodes !== this.worldSize()) {
      throw new MisconfigurationError(
        `SLURM started SLURM_NTASKS=${this.worldSize()} tasks, but devices=${numDevices} × numNodes=${numNodes} = ${numDevices * numNodes}: ` +
          `use #SBATCH --ntasks-per-node=${numDevices} --nodes=${numNodes}, or change devices/numNodes`,
      );
    }
  }
}

/**
 * The first host of a SLURM node list: `node[003-005,010],gpu7` → `node003`, keeping the range's
 * zero padding; hosts without brackets as they are.
 */
export function firstHost(nodelist: string): string {
  const first = nodelist.trim().match(/^([^,[]+)(\[([^\]]+)\])?/);
  if (!first) throw new MisconfigurationError(`SLURM_NODELIST='${nodelist}' names no host`);
  const [, prefix, , ranges] = first;
  if (!ranges) return prefix!;
  const start = ranges.split(",")[0]!.split("-")[0]!;
  return `${prefix}${start}`;
}
