export { Strategy, REDUCE_OPS, type ReduceOp, type DistributedSamplerSettings } from "./strategy";
export { SingleDeviceStrategy } from "./single_device";
