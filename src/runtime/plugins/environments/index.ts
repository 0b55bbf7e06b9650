export { ClusterEnvironment } from "./cluster_environment.ts";
export { LightningEnvironment } from "./lightning_environment.ts";
export { TorchElasticEnvironment } from "./torchelastic_environment.ts";
export { SLURMEnvironment } from "./slurm_environment.ts";
export { MPIEnvironment } from "./mpi_environment.ts";
export { KubeflowEnvironment } from "./kubeflow_environment.ts";
export { detectClusterEnvironment } from "./detect.ts";
export type { MainAddress } from "./env_vars.ts";
