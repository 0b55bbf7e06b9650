import { RankedEnvironment } from "./ranked_environment.ts";
import { readInt, required, type Env, type MainAddress } from "./env_vars.ts";

/**
 * A Kubeflow PyTorchJob (Lightning's `KubeflowEnvironment`): one process per pod; the operator
 * sets `MASTER_ADDR`, `MASTER_PORT`, `WORLD_SIZE` and `RANK` (the pod's, which is also its node
 * rank) in a Kubernetes pod (`KUBERNETES_PORT`).
 */
export class KubeflowEnvironment extends RankedEnvironment {
  constructor(private readonly env: Env = process.env) {
    super(readInt(env, "WORLD_SIZE", 1, 1), readInt(env, "RANK", 0, 0));
  }

  static detect(env: Env = process.env): boolean {
    return ["KUBERNETES_PORT", "MASTER_ADDR", "MASTER_PORT", "WORLD_SIZE", "RANK"].every((k) => env[k] !== undefined) && env.LOCAL_RANK === undefined;
  }

  get createsProcessesExternally(): boolean {
    return true;
  }

  localRank(): number {
    return 0;
  }

  nodeRank(): number {
    return this.globalRank();
  }

  mainAddress(): MainAddress {
    return { host: required(this.env, "MASTER_ADDR", "the PyTorchJob operator"), port: readInt(this.env, "MASTER_PORT", 0, 1), source: "MASTER_ADDR:MASTER_PORT (set by the PyTorchJob operator)" };
  }
}
