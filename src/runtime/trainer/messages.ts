/**
 * Lightning's informational messages (`rank_zero_info`: "`Trainer.fit` stopped: `maxEpochs=2`
 * reached.", "GPU available: …"). Printed on rank 0, like Lightning's default logging
 * configuration. `LIGHTNING_TS_LOG_LEVEL=warning` (or `error`) silences them, as raising the
 * level of Python's `lightning.pytorch` logger does.
 *
 * Messages sent while a run may have a progress bar on screen pass the Trainer: they are then
 * printed through `trainer.print`, i.e. the progress bar's `print`, which writes above the bars
 * instead of into the middle of a redrawn line. Without a Trainer (its constructor, before any
 * bar exists) they go straight to stdout.
 */
import { rankZeroOnly } from "../loggers/rank_zero";

function infoEnabled(): boolean {
  const level = (process.env.LIGHTNING_TS_LOG_LEVEL ?? "info").trim().toLowerCase();
  return level === "info" || level === "debug" || level === "";
}

/** What `rankZeroInfo` needs of a Trainer: its rank-0 `print`, routed through the progress bar. */
export interface InfoPrinter {
  print(...args: unknown[]): void;
}

export function rankZeroInfo(message: string, trainer: InfoPrinter | null = null): void {
  if (!rankZeroOnly.isRankZero || !infoEnabled()) return;
  if (trainer !== null) trainer.print(message);
  else process.stdout.write(`${message}\n`);
}
