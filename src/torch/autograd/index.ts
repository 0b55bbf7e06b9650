import { installTape } from "./tape.ts";
import { installLeanDispatch } from "./kernel_dispatch.ts";
import { installLifetimes } from "./lifetime.ts";
import { installTensorMethods } from "./tensor_methods.ts";

/** Hooks the torch layer's autograd into the tfjs engine (idempotent). */
export function installAutograd(): void {
  installTape();
  installLeanDispatch();
  installLifetimes();
  installTensorMethods();
}

export { backward, type BackwardOptions } from "./backward.ts";
export { noGrad, enableGrad, isGradEnabled, setGradEnabled } from "./grad_mode.ts";
export { openStepScope, closeStepScope, withStepScope, StepScope } from "./step_scope.ts";
export { traceLoss, setLossTraceRankCheck } from "./loss_trace.ts";
export { tapeLength, pruneTape } from "./tape.ts";
export { requiresGrad } from "./requires_grad.ts";
export { clearGrads } from "./grad_store.ts";
