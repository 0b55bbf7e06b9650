import type { DataLoader } from "../../torch/data/dataloader.ts";
import { DistributedSampler } from "../../torch/data/distributed.ts";
import type { Strategy } from "../strategies/strategy.ts";
import { forwardingProxy } from "./wrapped.ts";

/**
 * The dataloader `setupDataloaders` returns (Fabric's `_FabricDataLoader`): the same object
 * to the type system, whose iteration hands out each batch moved to the strategy's device.
 * The loader's own iterator still runs underneath, so its per-batch step scope (the memory
 * contract) and early-exit cleanup are unchanged. A `DistributedSampler` gets the iteration
 * count as its epoch, so each epoch shuffles differently, identically on every rank.
 */
export function wrapDataLoader<L extends DataLoader<any, any>>(loader: L, strategy: Strategy, moveToDevice: boolean): L {
  let iterations = 0;
  const nextEpoch = () => {
    if (loader.sampler instanceof DistributedSampler) loader.sampler.setEpoch(iterations);
    iterations++;
  };
  const move = moveToDevice ? <T>(batch: T): T => strategy.batchToDevice(batch) : <T>(batch: T): T => batch;

  function iterate(this: unknown): Iterator<unknown> & Iterable<unknown> {
    nextEpoch();
    const inner = loader[Symbol.iterator]();
    const it: Iterator<unknown> & Iterable<unknown> = {
      next() {
        const r = inner.next();
        return r.done ? r : { done: false, value: move(r.value) };
      },
      return(value?: unknown) {
        return inner.return ? inner.return(value) : { done: true, value };
      },
      throw(e?: unknown) {
        if (inner.throw) return inner.throw(e);
        throw e;
      },
      [Symbol.iterator]() {
        return it;
      },
    };
    return it;
  }

  function iterateAsync(this: unknown): AsyncIterator<unknown> & AsyncIterable<unknown> {
    nextEpoch();
    const inner = loader[Symbol.asyncIterator]();
    const it: AsyncIterator<unknown> & AsyncIterable<unknown> = {
      async next() {
        const r = await inner.next();
        return r.done ? r : { done: false, value: move(r.value) };
      },
      async return(value?: unknown) {
        return inner.return ? inner.return(value) : { done: true, value };
      },
      async throw(e?: unknown) {
        if (inner.throw) return inner.throw(e);
        throw e;
      },
      [Symbol.asyncIterator]() {
        return it;
      },
    };
    return it;
  }

  return forwardingProxy(loader, { [Symbol.iterator]: iterate, [Symbol.asyncIterator]: iterateAsync });
}
