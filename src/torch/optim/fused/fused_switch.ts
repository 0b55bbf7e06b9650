/**
 * Whether optimizers may take their fused kernels (adam_step.ts, sgd_step.ts): tests and
 * benchmarks compare them with the op chains they replace.
 */
let disabled = false;

/** Runs `fn` with the op chains instead of the fused kernels. */
export function withoutFusedOptimizers<T>(fn: () => T): T {
  const prev = disabled;
  disabled = true;
  try {
    return fn();
  } finally {
    disabled = prev;
  }
}

export function fusedOptimizersDisabled(): boolean {
  return disabled;
}
