export { Precision, type PrecisionName, type PrecisionBackwardOptions } from "./precision.ts";
export { FullPrecision } from "./full_precision.ts";
