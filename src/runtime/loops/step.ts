/**
 * Running a step hook and moving a batch, through the strategy and precision plugin
 * (Lightning's `strategy.training_step` / `batch_to_device`). Inputs are converted by the
 * precision plugin, the batch-transfer hooks run (the datamodule's when it overrides them),
 * and the step runs in the precision plugin's forward context.
 */
import { LightningDataModule } from "../core/datamodule";
import { LightningModule, isOverridden } from "../core/module";
import { chain, type MaybePromise } from "../core/maybe_async";
import { callDatamoduleHook, callModuleHook, snake } from "../trainer/call";
import { Strategy } from "../strategies/strategy";
import type { Trainer } from "../trainer/trainer";

export type StepHook = "trainingStep" | "validationStep" | "testStep" | "predictStep";

export function strategyStep(trainer: Trainer, hook: StepHook, args: readonly unknown[]): MaybePromise<unknown> {
  const strategy = trainer.strategy;
  const profiler = trainer.profiler;
  const run = () => strategy.precision.forwardContext(() => callModuleHook(trainer, hook, args));
  if (!profiler.records) return run();
  return profiler.profile(`[Strategy]${strategy.constructor.name}.${snake(hook)}`, run);
}

/** `onBeforeBatchTransfer` → `transferBatchToDevice` → `onAfterBatchTransfer` (Lightning's `_apply_batch_transfer_handler`). */
export function transferBatch(trainer: Trainer, batch: unknown, dataloaderIdx: number): MaybePromise<unknown> {
  const module = trainer.lightningModule;
  const dm = trainer.datamodule;
  batch = trainer.strategy.precision.convertInput(batch);
  const hook = (name: string, args: unknown[]): MaybePromise<unknown> => {
    if (dm !== null && isOverridden(name, dm, LightningDataModule.prototype)) return callDatamoduleHook(trainer, name, args);
    if (isOverridden(name, module, LightningModule.prototype)) return callModuleHook(trainer, name, args);
    if (name === "transferBatchToDevice") {
      // The base strategy's move is the identity here (tensors live on the active backend; the
      // accelerator was checked at construction): skip the walk over the batch then. A strategy
      // with its own `batchToDevice` is always called.
      if (trainer.strategy.batchToDevice === Strategy.prototype.batchToDevice) return args[0];
      const profiler = trainer.profiler;
      const move = () => trainer.strategy.batchToDevice(args[0]);
      return profiler.records ? profiler.profile(`[Strategy]${trainer.strategy.constructor.name}.batch_to_device`, move) : move();
    }
    return args[0];
  };
  return chain(hook("onBeforeBatchTransfer", [batch, dataloaderIdx]), (b) =>
    chain(hook("transferBatchToDevice", [b, trainer.strategy.rootDevice, dataloaderIdx]), (moved) =>
      hook("onAfterBatchTransfer", [moved, dataloaderIdx]),
    ),
  );
}
