import { Precision } from "./precision.ts";

/**
 * `precision: "32-true"` (also `32` / `"32"`): float32 weights, activations and gradients —
 * what every tfjs backend computes natively. Every hook is the base class's identity, so a
 * Lite step does exactly what the plain loop does.
 */
export class FullPrecision extends Precision {
  readonly name = "32-true";
}
