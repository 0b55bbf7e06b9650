import type { Optimizer } from "../../torch/optim/optimizer.ts";
import type { Strategy } from "../strategies/strategy.ts";
import { forwardingProxy } from "./wrapped.ts";

/**
 * The optimizer `setup` returns (Fabric's `_FabricOptimizer`): the same object to the type
 * system and to every property, with `step()` going through the strategy and its precision
 * plugin (for 32-true a plain step; a loss-scaling plugin unscales and may skip it).
 */
export function wrapOptimizer<O extends Optimizer>(optimizer: O, strategy: Strategy): O {
  const step = <T>(closure?: () => T): T => strategy.optimizerStep(optimizer, closure);
  return forwardingProxy(optimizer, { step });
}
