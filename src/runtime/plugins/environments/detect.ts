import { ClusterEnvironment } from "./cluster_environment.ts";
import type { Env } from "./env_vars.ts";
import { KubeflowEnvironment } from "./kubeflow_environment.ts";
import { LightningEnvironment } from "./lightning_environment.ts";
import { MPIEnvironment } from "./mpi_environment.ts";
import { SLURMEnvironment } from "./slurm_environment.ts";
import { TorchElasticEnvironment } from "./torchelastic_environment.ts";

/**
 * The environment this process runs in, in Lightning's order (`_choose_cluster_environment`):
 * SLURM, torchrun, Kubeflow, MPI, else Lightning's own (its launcher's variables, or one process).
 */
export function detectClusterEnvironment(env: Env = process.env): ClusterEnvironment {
  if (SLURMEnvironment.detect(env)) return new SLURMEnvironment(env);
  if (TorchElasticEnvironment.detect(env)) return new TorchElasticEnvironment(env);
  if (KubeflowEnvironment.detect(env)) return new KubeflowEnvironment(env);
  if (MPIEnvironment.detect(env)) return new MPIEnvironment(env);
  return new LightningEnvironment(env);
}
