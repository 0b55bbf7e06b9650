/**
 * Checkpoints (Lightning's `_CheckpointConnector`): what a `.ckpt` holds, and restoring from one.
 *
 * A checkpoint is one object written with the torch layer's `save` (JSON header + raw tensor
 * bytes, written atomically: a crash mid-write leaves the previous file intact), with
 * Lightning's entries in camelCase:
 *
 *   epoch, globalStep, lightning_ts_version,
 *   stateDict                      the module's parameters and buffers
 *   loops                          progress of the fit/validate/test/predict loops, including
 *                                  the data order (each dataloader's shuffle-generator state)
 *   callbacks                      { [callback.stateKey]: callback.stateDict() }
 *   optimizerStates, lrSchedulers  one entry per optimizer / scheduler, in order
 *   precision                      { name, state } of the precision plugin (loss scaler, …)
 *   rngStates                      the random streams (init, data, ops) — so dropout resumes
 *                                  exactly where it was
 *   hparamsName, hyperParameters, datamoduleHyperParameters, <DataModuleClass>: its state
 *
 * Resuming with `fit(model, { ckptPath })` restores all of it, so that N epochs straight and
 * k epochs + resume for N-k more give the same losses and the same weights, bit for bit.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { packageRoot } from "../../../torch/data/package_root.ts";
import { tf } from "../../../torch/tf.ts";
import type { OptimizerStateDict } from "../../../torch/optim/optimizer.ts";
import { getRngState } from "../../../torch/random.ts";
import { hparamsState } from "../../core/hparams.ts";
import { tensorsIn } from "../../core/tensors.ts";
import { MisconfigurationError } from "../../errors.ts";
import { rankZeroWarn } from "../../utilities/rank_zero.ts";
import type { Checkpoint as CheckpointCallback } from "../../callbacks/callback.ts";
import { lastCheckpointPattern, type ModelCheckpoint } from "../../callbacks/model_checkpoint.ts";
import { callCallbackHooks, callDatamoduleHook, callModuleHook } from "../call.ts";
import { rankZeroInfo } from "../../utilities/rank_zero.ts";
import type { TrainerFnName } from "../states.ts";
import type { Trainer } from "../trainer.ts";

/** This package's version, recorded in every checkpoint. */
export const LIGHTNING_TS_VERSION: string = (JSON.parse(fs.readFileSync(path.join(packageRoot(), "package.json"), "utf8")) as { version: string }).version;

/** A checkpoint as the Trainer writes and reads it. */
export interface Checkpoint {
  epoch: number;
  globalStep: number;
  lightning_ts_version: string;
  stateDict: Record<string, tf.Tensor>;
  loops: Record<string, Record<string, unknown>>;
  callbacks?: Record<string, Record<string, unknown>>;
  optimizerStates?: OptimizerStateDict[];
  lrSchedulers?: Array<Record<string, unknown>>;
  precision?: { name: string; state: Record<string, unknown> };
  rngStates?: ReturnType<typeof getRngState>;
  hparamsName?: string | null;
  hyperParameters?: Record<string, unknown>;
  datamoduleHparamsName?: string | null;
  datamoduleHyperParameters?: Record<string, unknown>;
  [key: string]: unknown;
}

export class CheckpointConnector {
  /** The checkpoint being restored (between `resumeStart` and `resumeEnd`). */
  private loaded: Checkpoint | null = null;
  /** The path restored last (Lightning's `trainer.ckpt_path`). */
  ckptPath: string | null = null;

  constructor(private readonly trainer: Trainer) {}

  /**
   * Resolves `ckptPath` (a path, "last" or "best") for an entry point (Lightning's `_parse_ckpt_path`).
   * Without a path and without a model, validate/test/predict use the best checkpoint of the previous fit.
   */
  resolveCkptPath(fn: TrainerFnName, ckptPath: string | null | undefined, modelProvided: boolean, modelConnected: boolean): string | null {
    const trainer = this.trainer;
    if (modelProvided && (ckptPath === undefined || ckptPath === null)) return null;
    if (modelConnected && (ckptPath === undefined || ckptPath === null)) {
      ckptPath = "best";
      rankZeroWarn(
        `\`.${fn}(ckptPath=null)\` was called without a model. The best model of the previous \`fit\` call will be used. ` +
          `You can pass \`.${fn}(model, { ckptPath: "best" })\` to use the best model or \`{ ckptPath: "last" }\` to use the last model. ` +
          "If you pass a value, this warning will be silenced.",
      );
    }
    if (ckptPath === undefined || ckptPath === null) return null;
    if (ckptPath === "best") {
      const cbs = trainer.checkpointCallbacks;
      if (cbs.length > 1) {
        rankZeroWarn(
          `\`.${fn}(ckptPath="best")\` is called with Trainer configured with multiple \`ModelCheckpoint\` callbacks. It will use the best ` +
            "checkpoint path from first checkpoint callback.",
        );
      }
      const cb = trainer.checkpointCallback;
      if (cb === null) throw new MisconfigurationError(`\`.${fn}(ckptPath="best")\` is set but \`ModelCheckpoint\` is not configured.`);
      if (!cb.bestModelPath) {
        if (trainer.fastDevRun !== false) {
          throw new MisconfigurationError(
            `You cannot execute \`.${fn}(ckptPath="best")\` with \`fastDevRun\`. Please pass an exact checkpoint path to \`.${fn}(ckptPath=...)\``,
          );
        }
        throw new MisconfigurationError(`\`.${fn}(ckptPath="best")\` is set but \`ModelCheckpoint\` is not configured to save the best model.`);
      }
      return cb.bestModelPath;
    }
    if (ckptPath === "last") {
      const candidates = new Map<string, number>();
      for (const cb of trainer.checkpointCallbacks) {
        for (const p of findLastCheckpoints(cb, trainer)) {
          try {
            candidates.set(p, fs.statSync(p).mtimeMs);
          } catch {
            /* vanished */
          }
        }
      }
      if (candidates.size === 0) {
        rankZeroWarn(
          `.${fn}(ckptPath="last") is set, but there is no last checkpoint available. No checkpoint will be loaded. ` +
            "HINT: Set `ModelCheckpoint({ saveLast: true })`.",
        );
        return null;
      }
      return [...candidates].sort((a, b) => b[1] - a[1])[0][0];
    }
    if (typeof ckptPath !== "string" || ckptPath.length === 0) {
      throw new MisconfigurationError(`\`.${fn}()\` found no path for the best weights: ${JSON.stringify(ckptPath)}. Please specify a path for a checkpoint \`.${fn}(ckptPath=PATH)\``);
    }
    return ckptPath;
  }

  /** Loads the checkpoint file (restoring happens in the steps below). */
  async resumeStart(checkpointPath: string | null): Promise<void> {
    this.ckptPath = checkpointPath;
    if (checkpointPath === null) return;
    const fn = this.trainer.state.fn;
    if (fn === "fit") rankZeroInfo(`Restoring states from the checkpoint path at ${checkpointPath}`, this.trainer);
    const loaded = (await this.trainer.strategy.loadCheckpoint(checkpointPath)) as Checkpoint;
    if (loaded === null || typeof loaded !== "object" || !("stateDict" in loaded)) {
      throw new Error(`${checkpointPath} is not a Trainer checkpoint (it has no 'stateDict' entry)`);
    }
    this.loaded = loaded;
  }

  get hasCheckpoint(): boolean {
    return this.loaded !== null;
  }

  /** Module weights (after `onLoadCheckpoint`), datamodule state, and — when fitting — callback states. */
  async restoreModulesAndCallbacks(checkpointPath: string | null): Promise<void> {
    await this.resumeStart(checkpointPath);
    const ckpt = this.loaded;
    if (ckpt === null) return;
    const trainer = this.trainer;
    const module = trainer.lightningModule;
    await callModuleHook(trainer, "onLoadCheckpoint", [ckpt]);
    module.loadStateDict(ckpt.stateDict, { strict: module.strictLoading });
    const dm = trainer.datamodule;
    if (dm !== null) {
      const key = dm.constructor.name;
      if (key in ckpt) dm.loadStateDict(ckpt[key] as Record<string, unknown>);
    }
    if (trainer.state.fn === "fit") {
      await callCallbackHooks(trainer, "onLoadCheckpoint", [ckpt]);
      const states = ckpt.callbacks ?? {};
      for (const cb of trainer.callbacks) {
        const s = states[cb.stateKey];
        if (s !== undefined) cb.loadStateDict(s);
      }
    }
  }

  /** Precision plugin, loops, and (fitting) optimizers, schedulers and random streams. */
  restoreTrainingState(): void {
    const ckpt = this.loaded;
    if (ckpt === null) return;
    const trainer = this.trainer;
    if (ckpt.precision && ckpt.precision.name === trainer.precisionPlugin.name) trainer.precisionPlugin.loadStateDict(ckpt.precision.state);
    this.restoreLoops(ckpt);
    if (trainer.state.fn !== "fit") return;
    this.restoreOptimizersAndSchedulers(ckpt);
    if (ckpt.rngStates) trainer.fitLoop.pendingRngState = ckpt.rngStates;
  }

  private restoreLoops(ckpt: Checkpoint): void {
    const trainer = this.trainer;
    const loops = ckpt.loops;
    if (!loops) return;
    switch (trainer.state.fn) {
      case "fit":
        if (loops.fitLoop) trainer.fitLoop.loadStateDict(loops.fitLoop);
        break;
      case "validate":
        if (loops.validateLoop) trainer.validateLoop.loadStateDict(loops.validateLoop);
        trainer.validateLoop.restarting = false;
        break;
      case "test":
        if (loops.testLoop) trainer.testLoop.loadStateDict(loops.testLoop);
        trainer.testLoop.restarting = false;
        break;
      case "predict":
        if (loops.predictLoop) trainer.predictLoop.loadStateDict(loops.predictLoop);
        trainer.predictLoop.restarting = false;
        break;
    }
    if (trainer.state.fn !== "fit") return;
    if (trainer.maxEpochs !== -1 && trainer.currentEpoch > trainer.maxEpochs) {
      throw new MisconfigurationError(
        `You restored a checkpoint with currentEpoch=${trainer.currentEpoch}, but you have set Trainer({ maxEpochs: ${trainer.maxEpochs} }).`,
      );
    }
  }

  private restoreOptimizersAndSchedulers(ckpt: Checkpoint): void {
    const trainer = this.trainer;
    const optimizers = trainer.optimizers;
    if (optimizers.length > 0) {
      if (!ckpt.optimizerStates) {
        throw new Error(
          "Trying to restore optimizer state but checkpoint contains only the model. This is probably due to " +
            "`ModelCheckpoint({ saveWeightsOnly: true })`.",
        );
      }
      if (ckpt.optimizerStates.length !== optimizers.length) {
        throw new Error(
          `The checkpoint has ${ckpt.optimizerStates.length} optimizer state(s) but \`configureOptimizers\` returned ${optimizers.length} optimizer(s)`,
        );
      }
      optimizers.forEach((o, i) => o.loadStateDict(ckpt.optimizerStates![i]));
    }
    const configs = trainer.lrSchedulerConfigs;
    if (configs.length > 0) {
      const saved = ckpt.lrSchedulers ?? [];
      if (saved.length !== configs.length) {
        throw new Error(`The checkpoint has ${saved.length} lr scheduler state(s) but \`configureOptimizers\` returned ${configs.length} scheduler(s)`);
      }
      configs.forEach((c, i) => c.scheduler.loadStateDict(saved[i]));
    }
  }

  /** Frees the loaded checkpoint's tensors (their values were copied into the model and optimizers). */
  async resumeEnd(): Promise<void> {
    const ckpt = this.loaded;
    this.loaded = null;
    if (ckpt !== null) {
      for (const t of tensorsIn(ckpt)) if (!t.isDisposed) t.dispose();
      if (this.trainer.state.fn === "fit") rankZeroInfo(`Restored all states from the checkpoint at ${this.ckptPath}`, this.trainer);
      else rankZeroInfo(`Loaded model weights from the checkpoint at ${this.ckptPath}`, this.trainer);
    }
    await this.trainer.strategy.barrier("CheckpointConnector.resumeEnd");
  }

  /** The checkpoint of the current state (Lightning's `dump_checkpoint`). */
  async dumpCheckpoint(weightsOnly = false): Promise<Checkpoint> {
    const trainer = this.trainer;
    const module = trainer.lightningModule;
    const checkpoint: Checkpoint = {
      epoch: trainer.currentEpoch,
      globalStep: trainer.globalStep,
      lightning_ts_version: LIGHTNING_TS_VERSION,
      stateDict: module.stateDict(),
      loops: {
        fitLoop: trainer.fitLoop.stateDict(),
        validateLoop: trainer.validateLoop.stateDict(),
        testLoop: trainer.testLoop.stateDict(),
        predictLoop: trainer.predictLoop.stateDict(),
      },
    };
    if (!weightsOnly) {
      const callbacks: Record<string, Record<string, unknown>> = {};
      for (const cb of trainer.callbacks) {
        const s = cb.stateDict();
        if (s && Object.keys(s).length > 0) callbacks[cb.stateKey] = s;
      }
      checkpoint.callbacks = callbacks;
      checkpoint.optimizerStates = trainer.optimizers.map((o) => o.stateDict());
      checkpoint.lrSchedulers = trainer.lrSchedulerConfigs.map((c) => c.scheduler.stateDict());
      const precision = trainer.precisionPlugin;
      checkpoint.precision = { name: precision.name, state: precision.stateDict() };
      checkpoint.rngStates = getRngState();
    }
    if (Object.keys(module.hparams).length > 0) {
      checkpoint.hparamsName = hparamsState(module).name;
      checkpoint.hyperParameters = { ...module.hparams };
    }
    const dm = trainer.datamodule;
    if (dm !== null) {
      if (Object.keys(dm.hparams).length > 0) {
        checkpoint.datamoduleHparamsName = hparamsState(dm).name;
        checkpoint.datamoduleHyperParameters = { ...dm.hparams };
      }
      const s = (await callDatamoduleHook<Record<string, unknown>>(trainer, "stateDict")) ?? {};
      if (Object.keys(s).length > 0) checkpoint[dm.constructor.name] = s;
    }
    if (!weightsOnly) await callCallbackHooks(trainer, "onSaveCheckpoint", [checkpoint]);
    await callModuleHook(trainer, "onSaveCheckpoint", [checkpoint]);
    return checkpoint;
  }
}

/**
 * The `last` checkpoints a checkpoint callback knows of (Lightning's `_find_last_checkpoints`).
 * A `ModelCheckpoint` lists its folder as resolved through the trainer: before the run's setup
 * its `dirpath` is still empty when the folder is the default one (`<root>/checkpoints`, or the
 * logger's `version_N/checkpoints`), so reading `cb.dirpath` would find nothing and a resume
 * would silently start from scratch. Another `Checkpoint` implementation is asked through its
 * `dirpath`. Its own `lastModelPath` (set when it saved one, or restored) is a candidate too.
 */
function findLastCheckpoints(cb: CheckpointCallback, trainer: Trainer): string[] {
  const out = new Set<string>();
  if (cb.lastModelPath) out.add(path.normalize(cb.lastModelPath));
  const finder = (cb as Partial<Pick<ModelCheckpoint, "findLastCheckpoints">>).findLastCheckpoints;
  if (typeof finder === "function") {
    for (const p of finder.call(cb, trainer)) out.add(p);
  } else {
    const dir = cb.dirpath;
    const pattern = lastCheckpointPattern();
    if (dir && fs.existsSync(dir)) {
      for (const f of fs.readdirSync(dir)) if (pattern.test(f)) out.add(path.normalize(path.join(dir, f)));
    }
  }
  return [...out].filter((p) => fs.existsSync(p));
}
