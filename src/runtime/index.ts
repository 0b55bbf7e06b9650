/**
 * `lightning-ts`: the Lightning runtime on the torch layer — LightningLite (Fabric), with its
 * accelerators, strategies and plugins. LightningModule, LightningDataModule, Trainer,
 * callbacks and loggers join these exports as they are built.
 */
export {
  LightningLite,
  type LightningLiteOptions,
  type SetupDataloadersOptions,
  type ClipGradientsOptions,
  type LiteBackwardOptions,
  type Collected,
} from "./lite/lightning_lite";
export { isWrapped, unwrap } from "./lite/wrapped";
export {
  Connector,
  parseDevicesFlag,
  precisionFromFlag,
  type ConnectorOptions,
  type AcceleratorFlag,
  type StrategyFlag,
  type PrecisionFlag,
  type DevicesFlag,
} from "./connector";
export { MisconfigurationError } from "./errors";
export * from "./accelerators/index";
export * from "./strategies/index";
export * from "./plugins/index";
export { seedEverything } from "./utilities/seed";
export * from "./loggers/index";
