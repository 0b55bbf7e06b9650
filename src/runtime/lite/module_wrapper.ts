import type { Module } from "../../torch/nn/module.ts";
import type { Strategy } from "../strategies/strategy.ts";
import { forwardingProxy } from "./wrapped.ts";

/**
 * The model `setup` returns (Fabric's `_FabricModule`): the same object to the type system and
 * to every property, with `forward` routed through the precision plugin — inputs converted,
 * the call run in its forward context, outputs converted back. Only the top-level `forward` is
 * routed: submodules called inside it run as they are, as in Fabric.
 */
export function wrapModule<M extends Module>(module: M, strategy: Strategy): M {
  const forward = (...args: unknown[]): unknown => {
    const precision = strategy.precision;
    const inputs = precision.convertInput(args);
    const output = precision.forwardContext(() => module.forward(...inputs));
    return precision.convertOutput(output);
  };
  return forwardingProxy(module, { forward });
}
