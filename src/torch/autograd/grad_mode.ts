import { engineInternals } from "../tf.ts";

/**
 * Gradient recording is on by default, as in PyTorch. `noGrad` turns it off for a block:
 * nothing is recorded, so eval loops and inference never grow the tape.
 */
let enabled = true;

export function isGradEnabled(): boolean {
  return enabled;
}

export function setGradEnabled(on: boolean): void {
  enabled = on;
}

/**
 * Runs `fn` with gradient recording off, like `with torch.no_grad():`. An async `fn` keeps
 * recording off until its promise settles.
 */
export function noGrad<T>(fn: () => T): T {
  const prev = enabled;
  enabled = false;
  let result: T;
  try {
    result = fn();
  } catch (e) {
    enabled = prev;
    throw e;
  }
  if (result instanceof Promise) {
    return result.finally(() => {
      enabled = prev;
    }) as T;
  }
  enabled = prev;
  return result;
}

/**
 * Runs `fn` with recording forced on (`torch.enable_grad`). An async `fn` keeps recording on
 * until its promise settles, as `noGrad` keeps it off: `optimizer.step(closure)` runs the
 * closure this way, and the Trainer's closure is async.
 */
export function enableGrad<T>(fn: () => T): T {
  const prev = enabled;
  enabled = true;
  let result: T;
  try {
    result = fn();
  } catch (e) {
    enabled = prev;
    throw e;
  }
  if (result instanceof Promise) {
    return result.finally(() => {
      enabled = prev;
    }) as T;
  }
  enabled = prev;
  return result;
}

/** True while tfjs itself records (inside `tf.grad`, `tf.variableGrads`, `optimizer.minimize`). */
export function tfjsGradientsActive(): boolean {
  return insideTfjsGradients > 0;
}

let insideTfjsGradients = 0;

export function enterTfjsGradients(): void {
  insideTfjsGradients++;
}

export function exitTfjsGradients(): void {
  insideTfjsGradients--;
}

export { engineInternals };
