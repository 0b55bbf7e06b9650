/**
 * The few collective decisions callbacks take (Lightning's `strategy.reduce_boolean_decision`
 * and `rank_zero_info`), written against the documented Trainer members so they work with any
 * strategy: a single process decides alone; several agree through one all-reduce.
 */
import { tf } from "../../torch/tf.ts";
import type { Trainer } from "../trainer/trainer.ts";

/**
 * Whether all ranks (`all`, the default) or any rank (`all = false`) decided `decision`. Every
 * rank must call it at the same point, as with any collective.
 */
export function reduceBooleanDecision(trainer: Trainer, decision: boolean, all = true): boolean {
  const strategy = trainer.strategy as Trainer["strategy"] & {
    reduceBooleanDecision?: (decision: boolean, all?: boolean) => boolean;
  };
  if (typeof strategy.reduceBooleanDecision === "function") return strategy.reduceBooleanDecision(decision, all);
  const worldSize = trainer.worldSize;
  if (worldSize <= 1) return decision;
  const votes = tf.tidy(() => strategy.allReduce(tf.scalar(decision ? 1 : 0, "float32"), "sum").dataSync()[0]);
  return all ? votes >= worldSize : votes > 0;
}

/** `[rank: N] message` in multi-process runs, as Lightning's `rank_prefixed_message`. */
export function rankPrefixedMessage(message: string, rank: number | null): string {
  return rank === null ? message : `[rank: ${rank}] ${message}`;
}
