export { Strategy, REDUCE_OPS, type ReduceOp, type DistributedSamplerSettings } from "./strategy.ts";
export { SingleDeviceStrategy } from "./single_device.ts";
export { DDPStrategy, type DDPStrategyOptions } from "./ddp.ts";
export { DDPSpawnStrategy } from "./ddp_spawn.ts";
