import { appendFileSync } from "node:fs";
import { tf } from "../tf";

/**
 * `LIGHTNING_TS_LOSS_TRACE=<file>`: every loss handed to a backward pass is appended as one
 * decimal per line, on rank 0, before any loss scaling. `--verify` and the equivalence tests
 * compare these files, so the number is written with full round-trip precision.
 */
let rankZero: () => boolean = () => (process.env.RANK ?? "0") === "0";

/** The runtime replaces this once it knows the process's global rank. */
export function setLossTraceRankCheck(isRankZero: () => boolean): void {
  rankZero = isRankZero;
}

export function traceLoss(loss: tf.Tensor | number): void {
  const path = process.env.LIGHTNING_TS_LOSS_TRACE;
  if (!path || !rankZero()) return;
  const value = typeof loss === "number" ? loss : loss.dataSync()[0];
  appendFileSync(path, `${value}\n`);
}
