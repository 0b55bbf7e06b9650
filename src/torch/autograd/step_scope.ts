import { tf, engineInternals } from "../tf";
import { pruneTape } from "./tape";

/**
 * Step memory. A PyTorch loop never disposes anything: Python's refcounting frees a step's
 * activations when the names are rebound. tfjs has no such thing, so the torch layer scopes a
 * step itself: every tensor created while a step scope is open (and not inside a `tf.tidy`,
 * which cleans up after itself) is disposed when that scope closes, unless it was `tf.keep`-ed
 * or is a variable. `DataLoader` iteration opens one scope per batch and closes it when the
 * loop asks for the next batch, so a plain loop's memory stays flat with no `tidy`/`dispose`.
 */
export class StepScope {
  readonly tensors: tf.Tensor[] = [];
  closed = false;
}

const open: StepScope[] = [];

export function openStepScope(): StepScope {
  const scope = new StepScope();
  open.push(scope);
  return scope;
}

/** Disposes what the scope collected and drops the tape nodes nothing alive can reach. */
export function closeStepScope(scope: StepScope): void {
  if (scope.closed) return;
  scope.closed = true;
  const i = open.lastIndexOf(scope);
  if (i >= 0) open.splice(i, 1);
  for (const t of scope.tensors) {
    if (!t.kept && !t.isDisposed) t.dispose();
  }
  scope.tensors.length = 0;
  pruneTape();
}

/** Runs `fn` (sync or async) inside a step scope. The result must be kept or plain data. */
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

let installed = false;

/** Routes tensors created outside any tfjs scope into the innermost open step scope. */
export function installStepScopeTracking(): void {
  if (installed) return;
  installed = true;
  const engine = engineInternals();
  const track = engine.track.bind(engine);
  engine.track = <T extends tf.Tensor>(t: T): T => {
    const result = track(t);
    if (engine.state.activeScope == null && open.length > 0) open[open.length - 1].tensors.push(t);
    return result;
  };
}
