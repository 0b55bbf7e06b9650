export { ClusterEnvironment } from "./cluster_environment.ts";
export { LightningEnvironment } from "./lightning_environment.ts";
