/**
 * `trainer.predict` (Lightning's `_PredictionLoop`): `predictStep` over every batch of the
 * predict dataloaders, in eval mode without gradients; returns the predictions (one list per
 * dataloader when there are several).
 *
 * Predictions outlive their batch: tensors in them are `tf.keep`-ed, so they survive the
 * batch's step scope — dispose them when done with them.
 */
import { tf } from "../../torch/tf.ts";
import { noGrad } from "../../torch/autograd/grad_mode.ts";
import { withStepScope } from "../../torch/autograd/step_scope.ts";
import { applyToCollection } from "../utilities/apply_to_collection.ts";
import { callCallbackHooks, callModuleHook } from "../trainer/call.ts";
import type { DataSource } from "../trainer/connectors/data_connector.ts";
import { BatchFetcher, batchesOf } from "./fetcher.ts";
import { Loop } from "./loop.ts";
import { BatchProgress } from "./progress.ts";
import { strategyStep, transferBatch } from "./step.ts";
import { ModuleMode, parseNumBatches } from "./utilities.ts";

export class PredictionLoop extends Loop {
  readonly batchProgress = new BatchProgress();
  /** Keep and return the predictions (false for very large prediction runs). */
  returnPredictions = true;
  dataloaders: DataSource[] | null = null;
  private maxBatches: number[] = [];
  private readonly moduleMode = new ModuleMode();

  async setupData(): Promise<void> {
    const trainer = this.trainer;
    const limit = trainer.limitPredictBatches;
    const source = trainer._dataConnector.predictSource;
    this.dataloaders = null;
    if (limit === 0 || !source.isDefined()) return;
    const loaders = await trainer._dataConnector.requestDataloaders(source, "predict");
    await trainer.strategy.barrier("predict_dataloader()");
    this.dataloaders = loaders;
    this.maxBatches = loaders.map((l) => parseNumBatches("predict", batchesOf(l, Infinity), limit));
  }

  get numBatches(): number[] {
    return this.maxBatches;
  }

  async run(): Promise<unknown[] | unknown[][] | null> {
    await this.setupData();
    const loaders = this.dataloaders;
    if (loaders === null || this.maxBatches.reduce((a, b) => a + b, 0) === 0) return this.returnPredictions ? [] : null;
    this.batchProgress.resetOnRun();
    return noGrad(() => this.runAll(loaders));
  }

  private async runAll(loaders: DataSource[]): Promise<unknown[] | unknown[][] | null> {
    const trainer = this.trainer;
    const module = trainer.lightningModule;
    const predictions: unknown[][] = loaders.map(() => []);
    await withStepScope(async () => {
      this.moduleMode.capture(module);
      await callModuleHook(trainer, "onPredictModelEval");
      await callCallbackHooks(trainer, "onPredictStart");
      await callModuleHook(trainer, "onPredictStart");
      await callCallbackHooks(trainer, "onPredictEpochStart");
      await callModuleHook(trainer, "onPredictEpochStart");
    });
    const several = loaders.length > 1;
    for (let dl = 0; dl < loaders.length; dl++) {
      const fetcher = new BatchFetcher(loaders[dl], this.maxBatches[dl], trainer.profiler, "[_PredictionLoop].predict_next");
      let batchIdx = 0;
      try {
        for (;;) {
          const next = await fetcher.next();
          if (next === undefined) break;
          this.batchProgress.isLastBatch = fetcher.done;
          const batch = await transferBatch(trainer, next.value, dl);
          this.batchProgress.incrementReady();
          const args = [batch, batchIdx, dl];
          await callCallbackHooks(trainer, "onPredictBatchStart", args);
          await callModuleHook(trainer, "onPredictBatchStart", args);
          this.batchProgress.incrementStarted();
          const output = await strategyStep(trainer, "predictStep", several ? [batch, batchIdx, dl] : [batch, batchIdx]);
          this.batchProgress.incrementProcessed();
          if (this.returnPredictions) predictions[dl].push(keepTensors(output));
          await callCallbackHooks(trainer, "onPredictBatchEnd", [output, batch, batchIdx, dl]);
          await callModuleHook(trainer, "onPredictBatchEnd", [output, batch, batchIdx, dl]);
          this.batchProgress.incrementCompleted();
          batchIdx++;
        }
      } finally {
        await fetcher.close();
      }
    }
    await withStepScope(async () => {
      await callCallbackHooks(trainer, "onPredictEpochEnd");
      await callModuleHook(trainer, "onPredictEpochEnd");
      await callCallbackHooks(trainer, "onPredictEnd");
      await callModuleHook(trainer, "onPredictEnd");
      this.moduleMode.restore(module);
    });
    if (!this.returnPredictions) return null;
    return several ? predictions : predictions[0];
  }

  override stateDict(): Record<string, unknown> {
    return { batchProgress: this.batchProgress.stateDict() };
  }

  protected override onLoadState(state: Record<string, any>): void {
    if (state.batchProgress) this.batchProgress.loadStateDict(state.batchProgress);
  }
}

function keepTensors<T>(output: T): T {
  return applyToCollection(output, (x) => x instanceof tf.Tensor, (t: tf.Tensor) => tf.keep(t));
}
