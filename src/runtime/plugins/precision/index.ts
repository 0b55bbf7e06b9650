export { Precision, type PrecisionName, type PrecisionBackwardOptions } from "./precision.ts";
export { FullPrecision } from "./full_precision.ts";
export { MixedPrecision } from "./mixed_precision.ts";
export { HalfPrecision } from "./half_precision.ts";
