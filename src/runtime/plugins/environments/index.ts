export { ClusterEnvironment } from "./cluster_environment";
export { LightningEnvironment } from "./lightning_environment";
