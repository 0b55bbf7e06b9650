export { LRScheduler } from "./lr_scheduler";
export { StepLR, type StepLROptions } from "./step_lr";
export { MultiStepLR, type MultiStepLROptions } from "./multi_step_lr";
export { ExponentialLR, type ExponentialLROptions } from "./exponential_lr";
export { CosineAnnealingLR, type CosineAnnealingLROptions } from "./cosine_annealing_lr";
export { OneCycleLR, type OneCycleLROptions } from "./one_cycle_lr";
export { ReduceLROnPlateau, type ReduceLROnPlateauOptions } from "./reduce_lr_on_plateau";
