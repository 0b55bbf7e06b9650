/** Logger helpers the Trainer uses (Lightning's `lightning.pytorch.loggers.utilities`). */
import { hparamsState } from "../core/hparams.ts";
import type { Trainer } from "../trainer/trainer.ts";

/**
 * Lightning's `_log_hyperparams`: the module's (and the datamodule's) saved hyperparameters to
 * every logger, with the model graph; a key both hold with different values is an error.
 */
export function logHyperparams(trainer: Trainer): void {
  if (trainer.loggers.length === 0) return;
  const module = trainer.lightningModule;
  const dm = trainer.datamodule;
  const moduleLog = hparamsState(module).log;
  const dmLog = dm !== null && hparamsState(dm).log;
  let hparams: Record<string, unknown> | null = null;
  if (moduleLog && dmLog) {
    const a = module.hparamsInitial;
    const b = dm!.hparamsInitial;
    const inconsistent = Object.keys(a).filter((k) => k in b && JSON.stringify(a[k]) !== JSON.stringify(b[k]));
    if (inconsistent.length > 0) {
      throw new Error(
        `Error while merging hparams: the keys [${inconsistent.join(", ")}] are present in both the LightningModule's and ` +
          "LightningDataModule's hparams but have different values.",
      );
    }
    hparams = { ...a, ...b };
  } else if (moduleLog) hparams = module.hparamsInitial;
  else if (dmLog) hparams = dm!.hparamsInitial;
  for (const logger of trainer.loggers) {
    if (hparams !== null) logger.logHyperparams(hparams);
    logger.logGraph(module);
    logger.save();
  }
}
