/**
 * Batch iteration for the loops (the part of Lightning's `_DataFetcher` that applies here).
 *
 * Memory: every batch's work runs inside a step scope. A `data.DataLoader` opens one per batch
 * itself and closes it when the next batch is requested; for any other iterable this fetcher
 * does the same around the iterable's `next()`. So the Trainer's per-batch work — the step,
 * hooks, logging (which reads values as plain numbers before the scope closes) — is freed when
 * the next batch starts, like a plain loop's.
 *
 * No look-ahead: fetching batch i+1 before batch i is done would close batch i's scope. The
 * last batch is known from the source's length (or the batch limit); a source without a length
 * finds out only when it runs dry.
 */
import { DataLoader } from "../../torch/data/dataloader.ts";
import { closeStepScope, openStepScope, type StepScope } from "../../torch/autograd/step_scope.ts";
import type { Profiler } from "../profilers/profiler.ts";
import { sourceLength, type DataSource } from "../trainer/connectors/data_connector.ts";

export class BatchFetcher {
  /** Batches handed out in this pass. */
  fetched = 0;
  private iterator: Iterator<unknown> | AsyncIterator<unknown> | null = null;
  private async_ = false;
  private scope: StepScope | null = null;
  private exhausted = false;
  private readonly scopesItself: boolean;

  constructor(
    readonly source: DataSource,
    /** Batches to run (the length or the limit, whichever is smaller; Infinity when unknown). */
    readonly limit: number,
    private readonly profiler: Profiler,
    private readonly fetchAction: string,
  ) {
    this.scopesItself = source instanceof DataLoader;
  }

  /** Whether the batch last handed out was the last one. */
  get done(): boolean {
    return this.exhausted || this.fetched >= this.limit;
  }

  private open(): void {
    const src = this.source as Partial<Iterable<unknown> & AsyncIterable<unknown>>;
    if (typeof src[Symbol.iterator] === "function") {
      this.iterator = src[Symbol.iterator]!();
      this.async_ = false;
    } else if (typeof src[Symbol.asyncIterator] === "function") {
      this.iterator = src[Symbol.asyncIterator]!();
      this.async_ = true;
    } else {
      throw new TypeError("the dataloader is neither iterable nor async iterable");
    }
  }

  /**
   * The next batch, or `undefined` when the pass is over (limit reached or data exhausted).
   * Async only for async iterables.
   */
  next(): { value: unknown } | undefined | Promise<{ value: unknown } | undefined> {
    if (this.fetched >= this.limit || this.exhausted) return undefined;
    if (this.iterator === null) this.open();
    this.closeOwnScope();
    if (!this.scopesItself) this.scope = openStepScope();
    const records = this.profiler.records;
    if (records) this.profiler.start(this.fetchAction);
    if (this.async_) {
      return (this.iterator as AsyncIterator<unknown>).next().then(
        (r) => this.took(r),
        (e) => {
          if (records) this.profiler.stop(this.fetchAction);
          throw e;
        },
      );
    }
    let r: IteratorResult<unknown>;
    try {
      r = (this.iterator as Iterator<unknown>).next();
    } catch (e) {
      if (records) this.profiler.stop(this.fetchAction);
      throw e;
    }
    return this.took(r);
  }

  private took(r: IteratorResult<unknown>): { value: unknown } | undefined {
    if (this.profiler.records) this.profiler.stop(this.fetchAction);
    if (r.done) {
      this.exhausted = true;
      this.closeOwnScope();
      return undefined;
    }
    this.fetched++;
    return { value: r.value };
  }

  private closeOwnScope(): void {
    if (this.scope !== null) {
      closeStepScope(this.scope);
      this.scope = null;
    }
  }

  /** Ends the pass: closes the last batch's scope (the iterator's `return()` for a DataLoader). */
  close(): void | Promise<void> {
    const it = this.iterator;
    this.iterator = null;
    this.exhausted = true;
    let pending: unknown;
    if (it !== null && typeof it.return === "function") pending = it.return(undefined);
    this.closeOwnScope();
    if (pending instanceof Promise) return pending.then(() => undefined);
  }
}

/** Batches per pass: the source's length capped by the stage's limit. */
export function batchesOf(source: DataSource, limit: number): number {
  return Math.min(sourceLength(source), limit);
}
