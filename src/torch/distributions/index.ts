/** `distributions`: probability distributions, mirroring `torch.distributions`. */
export { Categorical, type CategoricalParams } from "./categorical.ts";
