import { stepBoundary } from "./lifetime.ts";
import { pruneTape } from "./tape.ts";

/**
 * Step boundaries. A PyTorch loop never disposes anything: Python frees a step's activations
 * when the names are rebound, and keeps whatever the program still references (a hidden
 * state, an EMA, a list of predictions). Tensor lifetime here works the same way
 * (`lifetime.ts`: the garbage collector decides); a step scope only marks where a step ends,
 * which is the cheapest moment to collect: the step's intermediates are dead and still young.
 * `DataLoader` iteration opens one scope per batch and closes it when the loop asks for the
 * next batch; the Trainer's loops do the same. Closing a scope disposes nothing the program
 * can still reach; loops with no scope at all (hand-sliced, `while`, full batch) get their
 * boundaries from `backward()` and from the memory budget.
 */
export class StepScope {
  closed = false;
}

const open: StepScope[] = [];

export function openStepScope(): StepScope {
  const scope = new StepScope();
  open.push(scope);
  return scope;
}

/** Ends the step: frees what the step made and nothing references (when the step budget is spent). */
export function closeStepScope(scope: StepScope): void {
  if (scope.closed) return;
  scope.closed = true;
  const i = open.lastIndexOf(scope);
  if (i >= 0) open.splice(i, 1);
  stepBoundary();
  // Nodes whose outputs were all disposed.
  pruneTape();
}

/** Runs `fn` (sync or async) inside a step scope. */
export function withStepScope<T>(fn: () => T): T {
  const scope = openStepScope();
  let result: T;
  try {
    result = fn();
  } catch (e) {
    closeStepScope(scope);
    throw e;
  }
  if (result instanceof Promise) {
    return result.finally(() => closeStepScope(scope)) as T;
  }
  closeStepScope(scope);
  return result;
}

export function openStepScopeCount(): number {
  return open.length;
}

/**
 * Closes every open scope, innermost first: what a process that starts over (a test file sharing
 * a worker with earlier ones) needs, since a loop left mid-iteration keeps its scope open.
 */
export function closeOpenStepScopes(): void {
  while (open.length > 0) closeStepScope(open[open.length - 1]!);
}
