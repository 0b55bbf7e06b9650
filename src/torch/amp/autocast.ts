/**
 * `torch.autocast`: inside `fn`, the ops on PyTorch's autocast lower-precision list (matrix
 * products, convolutions) compute in 16 bits and the rest in float32 — emulated exactly on
 * float32 backends (see kernel_rounding.ts).
 */
import { roundingMode, withRounding } from "./kernel_rounding.ts";
import type { HalfFormat } from "./rounding.ts";

export interface AutocastOptions {
  /** PyTorch's `device_type`; informative here ("cuda" and "cpu" behave alike). */
  deviceType?: string;
  /** The lower-precision format (default float16, as for CUDA). */
  dtype?: HalfFormat;
  /** `false` runs `fn` in float32, as a disabled autocast region does. */
  enabled?: boolean;
}

/** Runs `fn` (sync or async) under autocast; returns what `fn` returns. */
export function autocast<T>(options: AutocastOptions, fn: () => T): T {
  const enabled = options.enabled ?? true;
  const dtype = options.dtype ?? "float16";
  if (dtype !== "float16" && dtype !== "bfloat16") {
    throw new TypeError(`autocast(): dtype must be "float16" or "bfloat16", got ${JSON.stringify(dtype)}`);
  }
  return withRounding(enabled ? { format: dtype, scope: "autocast" } : null, fn);
}

/** `torch.is_autocast_enabled()`: whether the code running now is inside an enabled autocast region. */
export function isAutocastEnabled(): boolean {
  return roundingMode()?.scope === "autocast";
}
