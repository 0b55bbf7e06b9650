/**
 * Progress tracking (Lightning's `loops/progress.py`). Every loop counts what it did in stages
 * — ready → started → processed → completed — for the current run (`current`, reset per epoch
 * or per evaluation run) and overall (`total`). Checkpoints save these counters; on resume the
 * gap between the stages says exactly where the previous run stopped (e.g. an epoch whose
 * batches were processed but whose end-of-epoch work was not completed).
 */

export type TrackerState = { ready: number; started?: number; processed?: number; completed: number };

/** `ready` and `completed` (schedulers, optimizer steps). */
export class ReadyCompletedTracker {
  ready = 0;
  completed = 0;

  reset(): void {
    this.ready = 0;
    this.completed = 0;
  }

  /** After a restart, what was ready but never completed is redone: drop it. */
  resetOnRestart(): void {
    this.ready = this.completed;
  }

  stateDict(): TrackerState {
    return { ready: this.ready, completed: this.completed };
  }

  loadStateDict(s: TrackerState): void {
    this.ready = s.ready;
    this.completed = s.completed;
  }
}

/** Adds `started` (zero_grad calls, epochs). */
export class StartedTracker extends ReadyCompletedTracker {
  started = 0;

  override reset(): void {
    super.reset();
    this.started = 0;
  }

  override resetOnRestart(): void {
    super.resetOnRestart();
    this.started = this.completed;
  }

  override stateDict(): TrackerState {
    return { ...super.stateDict(), started: this.started };
  }

  override loadStateDict(s: TrackerState): void {
    super.loadStateDict(s);
    this.started = s.started ?? s.completed;
  }
}

/** Adds `processed` (batches, epochs). */
export class ProcessedTracker extends StartedTracker {
  processed = 0;

  override reset(): void {
    super.reset();
    this.processed = 0;
  }

  override resetOnRestart(): void {
    super.resetOnRestart();
    this.processed = this.completed;
  }

  override stateDict(): TrackerState {
    return { ...super.stateDict(), processed: this.processed };
  }

  override loadStateDict(s: TrackerState): void {
    super.loadStateDict(s);
    this.processed = s.processed ?? s.completed;
  }
}

type Tracker = ReadyCompletedTracker;

/** `total` and `current` counters of one kind, incremented together. */
export class Progress<T extends Tracker = ProcessedTracker> {
  constructor(
    readonly total: T,
    readonly current: T,
  ) {}

  static processed(): Progress<ProcessedTracker> {
    return new Progress(new ProcessedTracker(), new ProcessedTracker());
  }

  static started(): Progress<StartedTracker> {
    return new Progress(new StartedTracker(), new StartedTracker());
  }

  static readyCompleted(): Progress<ReadyCompletedTracker> {
    return new Progress(new ReadyCompletedTracker(), new ReadyCompletedTracker());
  }

  incrementReady(): void {
    this.total.ready++;
    this.current.ready++;
  }

  incrementStarted(): void {
    (this.total as unknown as StartedTracker).started++;
    (this.current as unknown as StartedTracker).started++;
  }

  incrementProcessed(): void {
    (this.total as unknown as ProcessedTracker).processed++;
    (this.current as unknown as ProcessedTracker).processed++;
  }

  incrementCompleted(): void {
    this.total.completed++;
    this.current.completed++;
  }

  reset(): void {
    this.total.reset();
    this.current.reset();
  }

  resetOnRun(): void {
    this.current.reset();
  }

  resetOnRestart(): void {
    this.current.resetOnRestart();
  }

  stateDict(): { total: TrackerState; current: TrackerState } {
    return { total: this.total.stateDict(), current: this.current.stateDict() };
  }

  loadStateDict(s: { total: TrackerState; current: TrackerState }): void {
    this.total.loadStateDict(s.total);
    this.current.loadStateDict(s.current);
  }
}

/** Batches of one epoch (or evaluation run), plus whether the last one was reached. */
export class BatchProgress extends Progress<ProcessedTracker> {
  isLastBatch = false;

  constructor() {
    super(new ProcessedTracker(), new ProcessedTracker());
  }

  resetForNextEpoch(): void {
    this.current.reset();
    this.isLastBatch = false;
  }

  override stateDict(): { total: TrackerState; current: TrackerState; isLastBatch: boolean } {
    return { ...super.stateDict(), isLastBatch: this.isLastBatch };
  }

  override loadStateDict(s: { total: TrackerState; current: TrackerState; isLastBatch?: boolean }): void {
    super.loadStateDict(s);
    this.isLastBatch = s.isLastBatch ?? false;
  }
}

/** Optimizer steps and zero_grad calls (automatic optimisation). */
export class OptimizerProgress {
  readonly step = Progress.readyCompleted();
  readonly zeroGrad = Progress.started();

  resetForNextEpoch(): void {
    this.step.resetOnRun();
    this.zeroGrad.resetOnRun();
  }

  resetOnRestart(): void {
    this.step.resetOnRestart();
    this.zeroGrad.resetOnRestart();
  }

  stateDict(): Record<string, unknown> {
    return { step: this.step.stateDict(), zeroGrad: this.zeroGrad.stateDict() };
  }

  loadStateDict(s: Record<string, any>): void {
    this.step.loadStateDict(s.step);
    this.zeroGrad.loadStateDict(s.zeroGrad);
  }
}

/** Lightning's `_OptimizationProgress`: `optimizerSteps` is what `globalStep` counts. */
export class OptimizationProgress {
  readonly optimizer = new OptimizerProgress();

  get optimizerSteps(): number {
    return this.optimizer.step.total.completed;
  }

  resetForNextEpoch(): void {
    this.optimizer.resetForNextEpoch();
  }

  resetOnRestart(): void {
    this.optimizer.resetOnRestart();
  }

  stateDict(): Record<string, unknown> {
    return { optimizer: this.optimizer.stateDict() };
  }

  loadStateDict(s: Record<string, any>): void {
    this.optimizer.loadStateDict(s.optimizer);
  }
}
