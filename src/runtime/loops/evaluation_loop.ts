/**
 * The validation and test loop (Lightning's `_EvaluationLoop`), used for the validation inside
 * `fit` (and its sanity check), `trainer.validate` and `trainer.test`.
 *
 * The model runs in eval mode with gradient recording off; every submodule's mode is restored
 * afterwards (a frozen submodule stays in eval mode), so validating in the middle of training
 * changes nothing in the training run. Several dataloaders run one after the other; each
 * batch's hooks get its `dataloaderIdx`, and metrics logged per dataloader get a
 * `/dataloader_idx_N` suffix.
 */
import { noGrad } from "../../torch/autograd/grad_mode.ts";
import { withStepScope } from "../../torch/autograd/step_scope.ts";
import { LightningModule, isOverridden } from "../core/module.ts";
import { ResultCollection } from "../trainer/connectors/logger_connector/result.ts";
import { callCallbackHooks, callModuleHook } from "../trainer/call.ts";
import type { DataLoaderSource, DataSource } from "../trainer/connectors/data_connector.ts";
import type { Trainer } from "../trainer/trainer.ts";
import { BatchFetcher, batchesOf } from "./fetcher.ts";
import { Loop } from "./loop.ts";
import { formatResults } from "./print_results.ts";
import { BatchProgress } from "./progress.ts";
import { strategyStep, transferBatch } from "./step.ts";
import { ModuleMode, parseNumBatches, setSamplerEpoch } from "./utilities.ts";
import { captureGeneratorStates, restoreGeneratorStates } from "./dataloader_state.ts";

export type EvaluationStage = "validate" | "test";

export class EvaluationLoop extends Loop {
  readonly batchProgress = new BatchProgress();
  readonly results = new ResultCollection(false);
  /** Print the results table at the end (trainer.validate/test's `verbose`). */
  verbose = true;
  /** The dataloaders of the current run (null before the first request). */
  dataloaders: DataSource[] | null = null;
  /** Batches per dataloader after `limitValBatches` / `limitTestBatches`. */
  private maxBatchesAll: number[] = [];
  private seenBatchesPerDataloader: number[] = [];
  private readonly moduleMode = new ModuleMode();
  private lastValDlReloadEpoch = -Infinity;
  /** Whether this loop ran since the trainer started the current entry point. */
  hasRun = false;
  /** Generator states of the dataloaders, to apply when they are next requested (resume). */
  pendingDataloaderStates: number[][][] | null = null;

  constructor(
    trainer: Trainer,
    readonly stage: EvaluationStage,
    private readonly source: () => DataLoaderSource,
  ) {
    super(trainer);
  }

  private get stepHook(): "validationStep" | "testStep" {
    return this.stage === "test" ? "testStep" : "validationStep";
  }

  private get prefix(): "val" | "test" {
    return this.stage === "test" ? "test" : "val";
  }

  /** Batches per dataloader for this run (the sanity check takes at most `numSanityValSteps`). */
  get maxBatches(): number[] {
    const trainer = this.trainer;
    if (trainer.sanityChecking) {
      const n = trainer.numSanityValSteps === -1 ? Infinity : trainer.numSanityValSteps;
      return this.maxBatchesAll.map((b) => Math.min(n, b));
    }
    return this.maxBatchesAll;
  }

  get skip(): boolean {
    return this.dataloaders === null || this.maxBatches.reduce((a, b) => a + b, 0) === 0;
  }

  private get shouldReloadValDl(): boolean {
    const n = this.trainer.reloadDataloadersEveryNEpochs;
    return n > 0 && this.trainer.currentEpoch - this.lastValDlReloadEpoch >= n;
  }

  /** Requests the dataloaders when needed (every run outside fit; once per reload period in fit). */
  async setupData(): Promise<void> {
    const trainer = this.trainer;
    const fitting = trainer.state.fn === "fit";
    if (this.dataloaders !== null && fitting && !this.shouldReloadValDl) return;
    const limit = this.stage === "test" ? trainer.limitTestBatches : trainer.limitValBatches;
    const module = trainer.lightningModule;
    if (limit === 0 || !isOverridden(this.stepHook, module, LightningModule.prototype)) return;
    const source = this.source();
    if (!source.isDefined()) return;
    if (fitting && ((trainer.sanityChecking && trainer.fitLoop.epochLoop.shouldCheckValEpoch()) || !trainer.sanityChecking)) {
      this.lastValDlReloadEpoch = trainer.currentEpoch;
    }
    const loaders = await trainer._dataConnector.requestDataloaders(source, this.stage === "test" ? "test" : "validate");
    await trainer.strategy.barrier(`${this.prefix}_dataloader()`);
    this.dataloaders = loaders;
    this.maxBatchesAll = loaders.map((l) => parseNumBatches(this.prefix, batchesOf(l, Infinity), limit));
    this.seenBatchesPerDataloader = loaders.map(() => 0);
    if (this.pendingDataloaderStates !== null) {
      loaders.forEach((l, i) => restoreGeneratorStates(l, this.pendingDataloaderStates![i] ?? [], `${this.prefix} dataloader ${i}`));
      this.pendingDataloaderStates = null;
    }
  }

  /** Runs the evaluation; returns the logged epoch metrics per dataloader. */
  async run(): Promise<Array<Record<string, number>>> {
    await this.setupData();
    if (this.skip) return [];
    this.reset();
    return noGrad(() => this.runEpoch());
  }

  private reset(): void {
    if (this.trainer.state.fn !== "fit") this.batchProgress.resetOnRun();
    else this.batchProgress.resetForNextEpoch();
    const fitting = this.trainer.state.fn === "fit";
    if (fitting) for (const dl of this.dataloaders!) setSamplerEpoch(dl, this.trainer.fitLoop.epochProgress.current.processed);
  }

  private async runEpoch(): Promise<Array<Record<string, number>>> {
    const trainer = this.trainer;
    const testing = this.stage === "test";
    this.hasRun = true;
    const loggedOutputs: Array<Record<string, number>> = [];
    await withStepScope(async () => {
      // eval mode: save every submodule's mode, then the `on*ModelEval` hook (default: `module.eval()`).
      this.moduleMode.capture(trainer.lightningModule);
      await callModuleHook(trainer, testing ? "onTestModelEval" : "onValidationModelEval");
      await callCallbackHooks(trainer, testing ? "onTestStart" : "onValidationStart");
      await callModuleHook(trainer, testing ? "onTestStart" : "onValidationStart");
      await callCallbackHooks(trainer, testing ? "onTestEpochStart" : "onValidationEpochStart");
      await callModuleHook(trainer, testing ? "onTestEpochStart" : "onValidationEpochStart");
    });

    const loaders = this.dataloaders!;
    const maxBatches = this.maxBatches;
    const profiler = trainer.profiler;
    for (let dl = 0; dl < loaders.length; dl++) {
      const limit = maxBatches[dl];
      if (limit === 0) {
        loggedOutputs.push(this.storeDataloaderOutputs());
        continue;
      }
      const fetcher = new BatchFetcher(loaders[dl], limit, profiler, `[_EvaluationLoop].${this.prefix}_next`);
      let batchIdx = 0;
      try {
        for (;;) {
          const next = await fetcher.next();
          if (next === undefined) break;
          this.batchProgress.isLastBatch = fetcher.done;
          await this.evaluationStep(next.value, batchIdx, dl, loaders.length > 1);
          batchIdx++;
        }
      } finally {
        await fetcher.close();
      }
      loggedOutputs.push(this.storeDataloaderOutputs());
    }

    await withStepScope(async () => {
      const connector = trainer._loggerConnector;
      connector.epochEndReached();
      await callCallbackHooks(trainer, testing ? "onTestEpochEnd" : "onValidationEpochEnd");
      await callModuleHook(trainer, testing ? "onTestEpochEnd" : "onValidationEpochEnd");
      await this.results.flush();
      connector.onEpochEnd();
      const epochEnd = connector.updateEvalEpochMetrics();
      const all: Record<string, number> = Object.assign({}, ...loggedOutputs, epochEnd);
      for (const out of loggedOutputs) Object.assign(out, epochEnd);
      connector.logEvalEndMetrics(all);
      await callCallbackHooks(trainer, testing ? "onTestEnd" : "onValidationEnd");
      await callModuleHook(trainer, testing ? "onTestEnd" : "onValidationEnd");
      connector.resetResults();
      // train mode: the module's own hook when it has one, else every submodule's saved mode.
      const trainHook = testing ? "onTestModelTrain" : "onValidationModelTrain";
      if (isOverridden(trainHook, trainer.lightningModule, LightningModule.prototype)) await callModuleHook(trainer, trainHook);
      else this.moduleMode.restore(trainer.lightningModule);
    });

    if (this.verbose && trainer.isGlobalZero && !trainer.sanityChecking) {
      const table = formatResults(loggedOutputs, this.stage);
      if (table) process.stdout.write(table);
    }
    return loggedOutputs;
  }

  /** Lightning's `_store_dataloader_outputs`: the epoch values of the dataloader that just finished. */
  private storeDataloaderOutputs(): Record<string, number> {
    const connector = this.trainer._loggerConnector;
    const idx = this.results.dataloaderIdx;
    connector.epochEndReached();
    // Keep the finished dataloader selected so only its metrics are collected.
    this.results.dataloaderIdx = idx;
    const out = { ...connector.updateEvalEpochMetrics() };
    this.results.dataloaderIdx = null;
    return out;
  }

  private async evaluationStep(rawBatch: unknown, batchIdx: number, dataloaderIdx: number, several: boolean): Promise<void> {
    const trainer = this.trainer;
    const testing = this.stage === "test";
    const batch = await transferBatch(trainer, rawBatch, dataloaderIdx);
    this.batchProgress.incrementReady();
    trainer._loggerConnector.onBatchStart(batch, several ? dataloaderIdx : null);
    const hookArgs = [batch, batchIdx, dataloaderIdx];
    await callCallbackHooks(trainer, testing ? "onTestBatchStart" : "onValidationBatchStart", hookArgs);
    await callModuleHook(trainer, testing ? "onTestBatchStart" : "onValidationBatchStart", hookArgs);
    this.batchProgress.incrementStarted();
    const output = await strategyStep(trainer, this.stepHook, several ? [batch, batchIdx, dataloaderIdx] : [batch, batchIdx]);
    this.batchProgress.incrementProcessed();
    const endArgs = [output, batch, batchIdx, dataloaderIdx];
    await callCallbackHooks(trainer, testing ? "onTestBatchEnd" : "onValidationBatchEnd", endArgs);
    await callModuleHook(trainer, testing ? "onTestBatchEnd" : "onValidationBatchEnd", endArgs);
    await this.results.flush();
    trainer._loggerConnector.onBatchEnd();
    this.batchProgress.incrementCompleted();
    if (!trainer.sanityChecking) {
      trainer._loggerConnector.updateEvalStepMetrics(this.seenBatchesPerDataloader[dataloaderIdx]);
      this.seenBatchesPerDataloader[dataloaderIdx]++;
    }
  }

  /** Generator states of the dataloaders (for checkpoints). */
  dataloaderStates(): number[][][] {
    return (this.dataloaders ?? []).map((l) => captureGeneratorStates(l));
  }

  override stateDict(): Record<string, unknown> {
    return { batchProgress: this.batchProgress.stateDict() };
  }

  protected override onLoadState(state: Record<string, unknown>): void {
    if (state.batchProgress) this.batchProgress.loadStateDict(state.batchProgress as Parameters<BatchProgress["loadStateDict"]>[0]);
  }

  /** Forgets the dataloaders (new data attached to the trainer). */
  resetDataloaders(): void {
    this.dataloaders = null;
    this.maxBatchesAll = [];
    this.lastValDlReloadEpoch = -Infinity;
  }
}
