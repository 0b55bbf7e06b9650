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
} from "./optimizer";
export { SGD, type SGDOptions, type SGDHyperparameters } from "./sgd";
export { Adam, type AdamOptions, type AdamHyperparameters } from "./adam";
export { AdamW, type AdamWOptions } from "./adamw";
export { RMSprop, type RMSpropOptions, type RMSpropHyperparameters } from "./rmsprop";
export { Adadelta, type AdadeltaOptions, type AdadeltaHyperparameters } from "./adadelta";
export { Adagrad, type AdagradOptions, type AdagradHyperparameters } from "./adagrad";
export { LBFGS, type LBFGSOptions, type LBFGSHyperparameters } from "./lbfgs";
export * as lrScheduler from "./lr_scheduler/index";
