import { Adam, adamDefaults, type AdamHyperparameters, type AdamOptions } from "./adam.ts";
import type { ParamsInput } from "./optimizer.ts";

export type AdamWOptions = Omit<AdamOptions, "decoupledWeightDecay">;

/**
 * `torch.optim.AdamW`: Adam with decoupled weight decay (Loshchilov & Hutter), default
 * `weightDecay = 1e-2`. Each step first shrinks the parameter, `p ← p·(1 − lr·weightDecay)`,
 * then applies Adam's update with the plain gradient (no L2 term in the moments).
 */
export class AdamW extends Adam {
  constructor(params: ParamsInput<AdamHyperparameters>, options: AdamWOptions = {}) {
    super(params, adamDefaults(options, { weightDecay: 1e-2, decoupledWeightDecay: true }));
  }
}
