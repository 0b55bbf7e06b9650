/** `optim`: PyTorch's optimizers and learning-rate schedulers, with PyTorch's update maths. */
export {
  Optimizer,
  type Hyperparameters,
  type AnyHyperparameters,
  type ParamGroup,
  type ParamGroupInput,
  type ParamsInput,
  type ParamState,
  type OptimizerStateDict,
} from "./optimizer.ts";
export { SGD, type SGDOptions, type SGDHyperparameters } from "./sgd.ts";
export { Adam, type AdamOptions, type AdamHyperparameters } from "./adam.ts";
export { AdamW, type AdamWOptions } from "./adamw.ts";
export { RMSprop, type RMSpropOptions, type RMSpropHyperparameters } from "./rmsprop.ts";
export { Adadelta, type AdadeltaOptions, type AdadeltaHyperparameters } from "./adadelta.ts";
export { Adagrad, type AdagradOptions, type AdagradHyperparameters } from "./adagrad.ts";
export { LBFGS, type LBFGSOptions, type LBFGSHyperparameters } from "./lbfgs.ts";
export * as lrScheduler from "./lr_scheduler/index.ts";
