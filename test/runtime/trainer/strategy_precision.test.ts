/**
 * The Trainer through the strategy and precision plugin, as Lightning wires them:
 * - backward is `strategy.backward` → precision `preBackward` → the LightningModule's
 *   `backward` hook (a user override, sync or async) → `postBackward`, so what a strategy adds
 *   around backward (DDP's gradient sync) also runs when the user overrides `backward`;
 * - Lite (Fabric) keeps backpropagating the tensor itself, never the module's hook;
 * - `forwardContext`, `optimizerStep` and `noBackwardSync` are handed the Trainer's async
 *   functions and their promises are awaited (a plugin's context held with `withFinally` covers
 *   the whole async step);
 * - `allReduce` takes `max`/`min`, and `this.log(..., { syncDist: true, reduceFx: "max"|"min" })`
 *   reduces through it.
 */
import { describe, it, expect, beforeAll } from "vitest";
import {
  Trainer,
  LightningLite,
  SingleDeviceStrategy,
  FullPrecision,
  REDUCE_OPS,
  type PrecisionBackwardOptions,
} from "lightning-ts";
import { noGrad, type nn } from "lightning-ts/torch";
import { chain, withFinally, type MaybePromise } from "../../../src/runtime/core/maybe_async";
import { usePureJsCpu, baseOptions, Classifier, manualSeed, snapshot, withLossTrace, tf, optim, F } from "./helpers";

const tick = () => new Promise<void>((resolve) => setTimeout(resolve, 0));

/** Records what runs around backward, at the strategy and at the precision plugin. */
class RecordingStrategy extends SingleDeviceStrategy {
  events: string[] = [];
  override backward(loss: tf.Tensor, module: nn.Module | null, options: PrecisionBackwardOptions = {}): MaybePromise<void> {
    this.events.push("strategy:before");
    return chain(super.backward(loss, module, options), () => {
      this.events.push("strategy:after");
    });
  }
}

class RecordingPrecision extends FullPrecision {
  constructor(private readonly events: string[]) {
    super();
  }
  override preBackward(loss: tf.Tensor, module: nn.Module | null): tf.Tensor {
    this.events.push("precision:pre");
    return super.preBackward(loss, module);
  }
  override postBackward(loss: tf.Tensor, module: nn.Module | null): void {
    this.events.push("precision:post");
    super.postBackward(loss, module);
  }
}

function recordingTrainer(extra: Record<string, unknown> = {}): { trainer: Trainer; events: string[] } {
  const strategy = new RecordingStrategy("cpu");
  const trainer = new Trainer(
    baseOptions({ accelerator: "cpu", strategy, plugins: [new RecordingPrecision(strategy.events)], logger: false, enableCheckpointing: false, ...extra }),
  );
  return { trainer, events: strategy.events };
}

/** One step's backward, in Lightning's order. */
const ONE_BACKWARD = ["strategy:before", "precision:pre", "module:backward", "precision:post", "strategy:after"];

describe("Trainer backward through the strategy and precision plugin", () => {
  beforeAll(usePureJsCpu);

  it("a user `backward(loss)` override runs inside strategy.backward, between the precision plugin's pre and post backward", async () => {
    class UserBackward extends Classifier {
      constructor(private readonly events: string[]) {
        super({ n: 32 });
      }
      override backward(loss: tf.Tensor, options: PrecisionBackwardOptions = {}): MaybePromise<void> {
        this.events.push("module:backward");
        return super.backward(loss, options);
      }
    }
    const { trainer, events } = recordingTrainer({ maxEpochs: 1 });
    manualSeed(1);
    await trainer.fit(new UserBackward(events));
    // 32 samples in batches of 16: two steps, each with one full backward.
    expect(events).toEqual([...ONE_BACKWARD, ...ONE_BACKWARD]);
  });

  it("the default backward goes the same way, and an async override is awaited before the optimizer step", async () => {
    class Plain extends Classifier {
      constructor(private readonly events: string[]) {
        super({ n: 32 });
      }
      // Not an override: records through onBeforeBackward/onAfterBackward only.
    }
    class AsyncBackward extends Classifier {
      constructor(private readonly events: string[]) {
        super({ n: 32 });
      }
      override async backward(loss: tf.Tensor, options: PrecisionBackwardOptions = {}): Promise<void> {
        // Gradients only exist after this await: a step that did not wait would update nothing.
        await tick();
        this.events.push("module:backward");
        await super.backward(loss, options);
      }
    }
    const plain = recordingTrainer({ maxEpochs: 2 });
    manualSeed(3);
    const plainModel = new Plain(plain.events);
    const plainTrace = await withLossTrace(() => plain.trainer.fit(plainModel));
    expect(plain.events).toEqual(Array(4).fill(["strategy:before", "precision:pre", "precision:post", "strategy:after"]).flat());

    const asyncRun = recordingTrainer({ maxEpochs: 2 });
    manualSeed(3);
    const asyncModel = new AsyncBackward(asyncRun.events);
    const asyncTrace = await withLossTrace(() => asyncRun.trainer.fit(asyncModel));
    expect(asyncRun.events).toEqual(Array(4).fill(ONE_BACKWARD).flat());
    expect(asyncTrace).toEqual(plainTrace);
    expect(snapshot(asyncModel.parameters())).toEqual(snapshot(plainModel.parameters()));
  });

  it("manualBackward also runs the module's backward inside the strategy's backward", async () => {
    class Manual extends Classifier {
      constructor(private readonly events: string[]) {
        super({ n: 32 });
        this.automaticOptimization = false;
      }
      override trainingStep([x, y]: [tf.Tensor, tf.Tensor]): any {
        const opt = this.optimizers() as { zeroGrad(): void; step(): unknown };
        opt.zeroGrad();
        const loss = F.crossEntropy(this.forward(x), y);
        this.manualBackward(loss);
        opt.step();
        return loss;
      }
      override backward(loss: tf.Tensor, options: PrecisionBackwardOptions = {}): MaybePromise<void> {
        this.events.push("module:backward");
        return super.backward(loss, options);
      }
    }
    const { trainer, events } = recordingTrainer({ maxEpochs: 1 });
    manualSeed(1);
    await trainer.fit(new Manual(events));
    expect(events).toEqual([...ONE_BACKWARD, ...ONE_BACKWARD]);
  });

  it("`this.log` inside a backward override is refused, as for any hook that may not log", async () => {
    class Logs extends Classifier {
      override backward(loss: tf.Tensor, options: PrecisionBackwardOptions = {}): MaybePromise<void> {
        this.log("x", 1);
        return super.backward(loss, options);
      }
    }
    const { trainer } = recordingTrainer({ maxEpochs: 1 });
    await expect(trainer.fit(new Logs())).rejects.toThrow("You can't `this.log()` inside `backward`");
  });
});

describe("Lite keeps Fabric's backward", () => {
  beforeAll(usePureJsCpu);

  it("backpropagates the tensor itself: a LightningModule's backward hook is not called", () => {
    class Hooked extends Classifier {
      called = 0;
      override backward(loss: tf.Tensor, options: PrecisionBackwardOptions = {}): MaybePromise<void> {
        this.called++;
        return super.backward(loss, options);
      }
    }
    class TestLite extends LightningLite {
      async run(): Promise<void> {}
    }
    const lite = new TestLite({ accelerator: "cpu" });
    manualSeed(0);
    const [model] = lite.setup(new Hooked());
    const x = tf.randomNormal([4, 6]);
    lite.backward(F.crossEntropy(model.forward(x), tf.tensor1d([0, 1, 2, 0], "int32")), { model });
    expect((model as Hooked).called).toBe(0);
    expect(model.parameters().every((p) => p.grad !== null)).toBe(true);
  });
});

describe("precision plugin and strategy contracts with async functions", () => {
  beforeAll(usePureJsCpu);

  it("optimizerStep(optimizer, asyncClosure): the closure records gradients across its awaits, the update waits for it", async () => {
    const precision = new FullPrecision();
    const w = tf.variable(tf.tensor1d([1, -2]));
    const opt = new optim.SGD([w], { lr: 0.5 });
    // Even where recording is off outside (an evaluation context), a step's closure records.
    const loss = await noGrad(() =>
      precision.optimizerStep(opt, async () => {
        await tick();
        const l = tf.sum(tf.mul(w, w));
        l.backward();
        return l;
      }),
    );
    expect(loss.dataSync()[0]).toBe(5);
    // d(w·w)/dw = 2w; w - 0.5·2w = 0.
    expect(Array.from(w.dataSync())).toEqual([0, 0]);
  });

  it("the Trainer awaits what forwardContext and noBackwardSync return: a context held until the promise settles covers the whole async step", async () => {
    class ContextPrecision extends FullPrecision {
      active = false;
      override forwardContext<T>(fn: () => T): T {
        this.active = true;
        return withFinally(fn, () => {
          this.active = false;
        }) as T;
      }
    }
    class NoSyncStrategy extends SingleDeviceStrategy {
      syncOff = false;
      override noBackwardSync<T>(_module: nn.Module, enabled: boolean, fn: () => T): T {
        this.syncOff = enabled;
        return withFinally(fn, () => {
          this.syncOff = false;
        }) as T;
      }
    }
    const precision = new ContextPrecision();
    const strategy = new NoSyncStrategy("cpu");
    const seen: Array<[string, boolean]> = [];
    class AsyncSteps extends Classifier {
      override async trainingStep(batch: [tf.Tensor, tf.Tensor], batchIdx: number): Promise<tf.Tensor> {
        await tick();
        seen.push(["step", precision.active]);
        return super.trainingStep(batch, batchIdx);
      }
      override async backward(loss: tf.Tensor, options: PrecisionBackwardOptions = {}): Promise<void> {
        await tick();
        // Accumulating over 2 batches: the first backward of each window runs without sync.
        seen.push([`backward-nosync`, strategy.syncOff]);
        await super.backward(loss, options);
      }
    }
    const trainer = new Trainer(
      baseOptions({ accelerator: "cpu", strategy, plugins: [precision], maxEpochs: 1, accumulateGradBatches: 2, logger: false, enableCheckpointing: false }),
    );
    manualSeed(0);
    await trainer.fit(new AsyncSteps({ n: 64 }));
    expect(seen).toEqual([
      ["step", true],
      ["backward-nosync", true],
      ["step", true],
      ["backward-nosync", false],
      ["step", true],
      ["backward-nosync", true],
      ["step", true],
      ["backward-nosync", false],
    ]);
    expect(precision.active).toBe(false);
    expect(trainer.globalStep).toBe(2);
  });
});

describe("allReduce max/min", () => {
  beforeAll(usePureJsCpu);

  it("single device: every op is the identity", () => {
    expect(REDUCE_OPS).toEqual(["mean", "sum", "max", "min"]);
    const s = new SingleDeviceStrategy("cpu");
    const x = tf.tensor1d([3, -1]);
    for (const op of REDUCE_OPS) expect(s.allReduce(x, op)).toBe(x);
  });

  it('this.log(..., { syncDist: true, reduceFx: "max" | "min" }) reduces epoch values through the strategy\'s all-reduce', async () => {
    /**
     * Rank 0 of a pretend two-process job: the other rank's epoch values are 10 (max) and -10
     * (min) and equal for sum, so the synced results are known. No process is started.
     */
    class TwoRanks extends SingleDeviceStrategy {
      ops: string[] = [];
      override get worldSize(): number {
        return 2;
      }
      override allReduce(t: tf.Tensor, op: (typeof REDUCE_OPS)[number]): tf.Tensor {
        this.ops.push(op);
        if (op === "max") return tf.maximum(t, 10);
        if (op === "min") return tf.minimum(t, -10);
        if (op === "sum") return tf.mul(t, 2);
        return t;
      }
    }
    class LogsExtremes extends Classifier {
      override trainingStep(batch: [tf.Tensor, tf.Tensor], batchIdx: number): any {
        this.log("step_max", batchIdx, { syncDist: true, reduceFx: "max", onStep: false, onEpoch: true });
        this.log("step_min", batchIdx, { syncDist: true, reduceFx: "min", onStep: false, onEpoch: true });
        this.log("step_mean", batchIdx, { syncDist: true, reduceFx: "mean", onStep: false, onEpoch: true });
        return super.trainingStep(batch, batchIdx);
      }
    }
    const strategy = new TwoRanks("cpu");
    const trainer = new Trainer(baseOptions({ accelerator: "cpu", strategy, maxEpochs: 1, logger: false, enableCheckpointing: false }));
    manualSeed(0);
    await trainer.fit(new LogsExtremes({ n: 64 }));
    expect(trainer.callbackMetrics.step_max).toBe(10);
    expect(trainer.callbackMetrics.step_min).toBe(-10);
    // Both ranks logged batch indices 0..3 with equal batch sizes: the mean is theirs.
    expect(trainer.callbackMetrics.step_mean).toBe(1.5);
    expect(strategy.ops).toEqual(expect.arrayContaining(["max", "min", "sum"]));
  });
});
