/**
 * Lightning's informational messages (`rank_zero_info`: "`Trainer.fit` stopped: `maxEpochs=2`
 * reached.", "GPU available: …"). Printed on rank 0 to stdout, like Lightning's default logging
 * configuration. `LIGHTNING_TS_LOG_LEVEL=warning` (or `error`) silences them, as raising the
 * level of Python's `lightning.pytorch` logger does.
 */
import { rankZeroOnly } from "../loggers/rank_zero";

function infoEnabled(): boolean {
  const level = (process.env.LIGHTNING_TS_LOG_LEVEL ?? "info").trim().toLowerCase();
  return level === "info" || level === "debug" || level === "";
}

export function rankZeroInfo(message: string): void {
  if (!rankZeroOnly.isRankZero || !infoEnabled()) return;
  process.stdout.write(`${message}\n`);
}
