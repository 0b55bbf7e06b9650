export { Precision, type PrecisionName, type PrecisionBackwardOptions } from "./precision";
export { FullPrecision } from "./full_precision";
