import { installTape } from "./tape";
import { installLifetimes } from "./lifetime";
import { installTensorMethods } from "./tensor_methods";

/** Hooks the torch layer's autograd into the tfjs engine (idempotent). */
export function installAutograd(): void {
  installTape();
  installLifetimes();
  installTensorMethods();
}

export { backward, type BackwardOptions } from "./backward";
export { noGrad, enableGrad, isGradEnabled, setGradEnabled } from "./grad_mode";
export { openStepScope, closeStepScope, withStepScope, StepScope } from "./step_scope";
export { traceLoss, setLossTraceRankCheck } from "./loss_trace";
export { tapeLength, pruneTape } from "./tape";
export { requiresGrad } from "./requires_grad";
export { clearGrads, accumulateGrad } from "./grad_store";
