import { appendFileSync } from "node:fs";
import { tf } from "../tf.ts";

/**
 * `LIGHTNING_TS_LOSS_TRACE=<file>`: every loss handed to a backward pass is appended as one
 * decimal per line, on rank 0, before any loss scaling. `--verify` and the equivalence tests
 * compare these files, so the number is written with full round-trip precision.
 *
 * `LIGHTNING_TS_MAX_STEPS=<n>` (set by `--verify --steps n` and the fixture tests) ends the
 * process with code 0 right after the n-th loss is traced: the comparison needs no more, and a
 * clean exit tells a finished prefix from a crash without a whole training run.
 */
const rankFromEnvIsZero = () => (process.env.RANK ?? "0") === "0";
let rankZero: () => boolean = rankFromEnvIsZero;

/** The runtime replaces this once it knows the process's global rank; `null` goes back to `RANK`. */
export function setLossTraceRankCheck(isRankZero: (() => boolean) | null): void {
  rankZero = isRankZero ?? rankFromEnvIsZero;
}

export function traceLoss(loss: tf.Tensor | number): void {
  const path = process.env.LIGHTNING_TS_LOSS_TRACE;
  if (!path || !rankZero()) return;
  const value = typeof loss === "number" ? loss : loss.dataSync()[0];
  appendFileSync(path, `${value}\n`);
  traced++;
  if (traced >= maxTracedLosses()) process.exit(0);
}

let traced = 0;

function maxTracedLosses(): number {
  const raw = process.env.LIGHTNING_TS_MAX_STEPS;
  const n = raw === undefined ? NaN : Number(raw);
  return Number.isInteger(n) && n > 0 ? n : Infinity;
}
