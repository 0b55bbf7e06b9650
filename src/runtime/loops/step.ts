/**
 * Running a step hook and moving a batch, through the strategy and precision plugin
 * (Lightning's `strategy.training_step` / `batch_to_device`). Inputs are converted by the
 * precision plugin, the batch-transfer hooks run (the datamodule's when it overrides them),
 * and the step runs in the precision plugin's forward context.
 */
import { LightningDataModule } from "../core/datamodule.ts";
import { LightningModule, isOverridden } from "../core/module.ts";
import { chain, type MaybePromise } from "../core/maybe_async.ts";
import { callDatamoduleHook, callModuleHook, snake } from "../trainer/call.ts";
import { Strategy } from "../strategies/strategy.ts";
import type { Trainer } from "../trainer/trainer.ts";

export type StepHook = "trainingStep" | "validationStep" | "testStep" | "predictStep";

// The functions below run every batch: closures are made inline (as arguments), never bound to
// a name, so no per-call work is added where a transpiler keeps function names (tsx, esbuild's
// `keepNames`, wraps each named closure in a `defineProperty` call).

export function strategyStep(trainer: Trainer, hook: StepHook, args: readonly unknown[]): MaybePromise<unknown> {
  const strategy = trainer.strategy;
  const profiler = trainer.profiler;
  if (!profiler.records) return strategy.precision.forwardContext(() => callModuleHook(trainer, hook, args));
  return profiler.profile(`[Strategy]${strategy.constructor.name}.${snake(hook)}`, () =>
    strategy.precision.forwardContext(() => callModuleHook(trainer, hook, args)),
  );
}

/** `onBeforeBatchTransfer` → `transferBatchToDevice` → `onAfterBatchTransfer` (Lightning's `_apply_batch_transfer_handler`). */
export function transferBatch(trainer: Trainer, batch: unknown, dataloaderIdx: number): MaybePromise<unknown> {
  const module = trainer.lightningModule;
  const dm = trainer.datamodule;
  batch = trainer.strategy.precision.convertInput(batch);
  return chain(transferHook(trainer, module, dm, "onBeforeBatchTransfer", [batch, dataloaderIdx]), (b) =>
    chain(transferHook(trainer, module, dm, "transferBatchToDevice", [b, trainer.strategy.rootDevice, dataloaderIdx]), (moved) =>
      transferHook(trainer, module, dm, "onAfterBatchTransfer", [moved, dataloaderIdx]),
    ),
  );
}

/** One batch-transfer hook: the datamodule's override, else the module's, else the default. */
function transferHook(
  trainer: Trainer,
  module: LightningModule,
  dm: LightningDataModule | null,
  name: string,
  args: unknown[],
): MaybePromise<unknown> {
  if (dm !== null && isOverridden(name, dm, LightningDataModule.prototype)) return callDatamoduleHook(trainer, name, args);
  if (isOverridden(name, module, LightningModule.prototype)) return callModuleHook(trainer, name, args);
  if (name === "transferBatchToDevice") {
    // The base strategy's move is the identity here (tensors live on the active backend; the
    // accelerator was checked at construction): skip the walk over the batch then. A strategy
    // with its own `batchToDevice` is always called.
    if (trainer.strategy.batchToDevice === Strategy.prototype.batchToDevice) return args[0];
    const profiler = trainer.profiler;
    if (!profiler.records) return trainer.strategy.batchToDevice(args[0]);
    return profiler.profile(`[Strategy]${trainer.strategy.constructor.name}.batch_to_device`, () => trainer.strategy.batchToDevice(args[0]));
  }
  return args[0];
}
