import type { Optimizer } from "../optimizer.ts";
import { LRScheduler } from "./lr_scheduler.ts";

/** A multiplicative factor as a function of the epoch (PyTorch's `lr_lambda`). */
export type LrLambda = (epoch: number) => number;

export type LambdaLROptions = { lrLambda?: LrLambda | readonly LrLambda[]; lastEpoch?: number };

/**
 * `LambdaLR`: lr = initialLr · lrLambda(epoch), one lambda for all groups or one per group.
 * `new LambdaLR(opt, (e) => 0.95 ** e)` (PyTorch's positional form) or
 * `new LambdaLR(opt, { lrLambda })`. The lambdas are not part of `stateDict()` (PyTorch saves
 * `None` for plain functions): a scheduler loading a state dict keeps its own.
 */
export class LambdaLR extends LRScheduler {
  lrLambdas: LrLambda[];

  constructor(
    optimizer: Optimizer,
    lrLambda: LrLambda | readonly LrLambda[] | LambdaLROptions,
    options: { lastEpoch?: number } = {},
  ) {
    super(optimizer);
    let fns: LrLambda | readonly LrLambda[] | undefined;
    let lastEpoch = options.lastEpoch;
    if (typeof lrLambda === "function" || Array.isArray(lrLambda)) {
      fns = lrLambda as LrLambda | readonly LrLambda[];
    } else {
      fns = (lrLambda as LambdaLROptions | undefined)?.lrLambda;
      lastEpoch ??= (lrLambda as LambdaLROptions | undefined)?.lastEpoch;
    }
    const n = optimizer.paramGroups.length;
    if (Array.isArray(fns)) {
      if (fns.length !== n) throw new Error(`LambdaLR: expected ${n} lrLambdas, but got ${fns.length}`);
      this.lrLambdas = [...(fns as readonly LrLambda[])];
    } else {
      this.lrLambdas = new Array<LrLambda>(n).fill(fns as LrLambda);
    }
    this.lrLambdas.forEach((f, i) => {
      if (typeof f !== "function") throw new TypeError(`LambdaLR: lrLambda ${i} is not a function (got ${typeof f})`);
    });
    this.initialize(lastEpoch ?? -1);
  }

  override getLr(): number[] {
    return this.baseLrs.map((base, i) => base * this.lrLambdas[i](this.lastEpoch));
  }

  override stateDict(): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(this)) {
      if (k === "optimizer" || k === "lrLambdas") continue;
      out[k] = structuredClone(v);
    }
    out.lrLambdas = this.lrLambdas.map(() => null);
    return out;
  }

  override loadStateDict(stateDict: Record<string, unknown>): void {
    const { lrLambdas: _saved, ...rest } = stateDict ?? {};
    super.loadStateDict(rest);
  }
}
