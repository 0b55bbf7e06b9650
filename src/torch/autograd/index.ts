import { installTape } from "./tape";
import { installStepScopeTracking } from "./step_scope";
import { installTensorMethods } from "./tensor_methods";

/** Hooks the torch layer's autograd into the tfjs engine (idempotent). */
export function installAutograd(): void {
  installTape();
  installStepScopeTracking();
  installTensorMethods();
}

export { backward, type BackwardOptions } from "./backward";
export { noGrad, enableGrad, isGradEnabled, setGradEnabled } from "./grad_mode";
export { openStepScope, closeStepScope, withStepScope, StepScope } from "./step_scope";
export { traceLoss, setLossTraceRankCheck } from "./loss_trace";
export { tapeLength, pruneTape } from "./tape";
export { requiresGrad } from "./requires_grad";
export { clearGrads, accumulateGrad } from "./grad_store";
