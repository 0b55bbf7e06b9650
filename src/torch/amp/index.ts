export { autocast, isAutocastEnabled, type AutocastOptions } from "./autocast.ts";
export { GradScaler, type GradScalerOptions, type GradScalerState } from "./grad_scaler.ts";
export { roundToHalf, roundToFloat16, roundToBFloat16, FLOAT16_MAX, type HalfFormat } from "./rounding.ts";
export {
  withRounding,
  roundingMode,
  roundingUnsupportedReason,
  LOWER_PRECISION_KERNELS,
  type RoundingMode,
} from "./kernel_rounding.ts";
export { roundTensorToHalf, unscaleAndCheck } from "./amp_kernels.ts";
