// `--to module` on a trainer class of the script's own (transforms/module/trainer-class.ts):
// minGPT's Trainer.run() (`while (true)` pulling batches from an iterator, callbacks reading the
// trainer, a `break` when done) and a fit(dataset) method with an epoch loop. The loss traces
// run on fixtures/real/mingpt and fixtures/trainer_class.
import { describe, expect, it } from "vitest";
import { migrate } from "../../../src/codemods/index";
import { toModule, ts } from "../helpers";

// (prettier's line breaks and trailing commas aside)
const flat = (s: string) =>
  s
    .replace(/\s+/g, " ")
    .replace(/,\s*([)\]}])/g, " $1")
    .replace(/\(\s+/g, "(")
    .replace(/\s+\)/g, ")");

const MINGPT_SHAPE = ts`
  import { tf, nn, F, optim, data, cuda } from "lightning-ts/torch";

  class GPT extends nn.Module {
    fc = new nn.Linear(4, 3);
    override forward(x: tf.Tensor, y: tf.Tensor): [tf.Tensor, tf.Tensor] {
      const logits = this.fc.forward(x);
      return [logits, F.crossEntropy(logits, y)];
    }
    configureOptimizers(config: { lr: number }): optim.Optimizer {
      return new optim.AdamW(this.parameters(), { lr: config.lr });
    }
  }

  type Callback = (trainer: Trainer) => void;

  class Trainer {
    config: { lr: number; maxIters: number | null; gradNormClip: number };
    model: GPT;
    optimizer: optim.Optimizer | null = null;
    trainDataset: data.Dataset<[tf.Tensor, tf.Tensor]>;
    callbacks = new Map<string, Callback[]>();
    device: string;
    iterNum = 0;
    loss!: tf.Tensor;

    constructor(config: { lr: number; maxIters: number | null; gradNormClip: number }, model: GPT, trainDataset: data.Dataset<[tf.Tensor, tf.Tensor]>) {
      this.config = config;
      this.model = model;
      this.trainDataset = trainDataset;
      this.device = cuda.isAvailable() ? "cuda" : "cpu";
      this.model = this.model.to(this.device);
    }

    setCallback(onevent: string, callback: Callback): void {
      this.callbacks.set(onevent, [callback]);
    }

    triggerCallbacks(onevent: string): void {
      for (const callback of this.callbacks.get(onevent) ?? []) callback(this);
    }

    run(): void {
      const [model, config] = [this.model, this.config];
      this.optimizer = model.configureOptimizers(config);
      const trainLoader = new data.DataLoader(this.trainDataset, { batchSize: 4, shuffle: true });
      model.train();
      this.iterNum = 0;
      let dataIter = trainLoader[Symbol.iterator]();
      while (true) {
        let next = dataIter.next();
        if (next.done) {
          dataIter = trainLoader[Symbol.iterator]();
          next = dataIter.next();
        }
        let batch: tf.Tensor[] = next.value;
        batch = batch.map((t) => t.to(this.device));
        const [x, y] = batch;
        let logits: tf.Tensor;
        [logits, this.loss] = model.forward(x, y);
        model.zeroGrad();
        this.loss.backward();
        nn.utils.clipGradNorm(model.parameters(), config.gradNormClip);
        this.optimizer.step();
        this.triggerCallbacks("on_batch_end");
        this.iterNum += 1;
        if (config.maxIters !== null && this.iterNum >= config.maxIters) {
          break;
        }
      }
    }
  }

  const dataset = new data.TensorDataset(tf.randomNormal([12, 4]), tf.zeros([12], "int32"));
  const model = new GPT();
  const trainer = new Trainer({ lr: 1e-3, maxIters: 5, gradNormClip: 1.0 }, model, dataset);
  trainer.setCallback("on_batch_end", (t) => console.log(t.iterNum, t.loss.item()));
  trainer.run();
`;

describe("a trainer class of the script's own (--to module)", () => {
  it("minGPT's Trainer.run(): the class stays, its loop becomes a LightningModule run() fits; callbacks keep getting the trainer", async () => {
    const { output, notes } = await toModule(MINGPT_SHAPE);
    const out = flat(output);
    // Lightning's Trainer under another name: the script has a Trainer of its own.
    expect(output).toContain('import { LightningModule, Trainer as LightningTrainer } from "lightning-ts";');
    expect(out).toContain(flat("async run(): Promise<void> { await new LightningTrainer({ maxEpochs: -1 }).fit(new TrainerModule(this)); }"));
    expect(out).toContain(flat("class TrainerModule extends LightningModule { override automaticOptimization = false; readonly model: GPT; constructor(private readonly owner: Trainer) { super(); this.model = owner.model; }"));
    expect(out).toContain(flat("override configureOptimizers() { const [model, config] = [this.model, this.owner.config]; this.owner.optimizer = model.configureOptimizers(config); return this.owner.optimizer!; }"));
    expect(out).toContain(flat("override trainDataloader() { const trainLoader = new data.DataLoader(this.owner.trainDataset, { batchSize: 4, shuffle: true }); return trainLoader; }"));
    expect(out).toContain(flat("override onFitStart() { this.owner.iterNum = 0; }"));
    // the batch taken from the iterator is the step's parameter; the device move goes
    expect(out).toContain(flat("override trainingStep(batch: tf.Tensor[], batchIdx: number) { const optimizer = this.optimizers(); const [model, config] = [this.model, this.owner.config]; const [x, y] = batch;"));
    expect(out).toContain(flat("this.manualBackward(this.owner.loss); nn.utils.clipGradNorm(model.parameters(), config.gradNormClip); optimizer.step(); this.owner.triggerCallbacks(\"on_batch_end\"); this.owner.iterNum += 1;"));
    // the loop's break stops the Trainer after this step
    expect(out).toContain(flat("if (config.maxIters !== null && this.owner.iterNum >= config.maxIters) { this.trainer.shouldStop = true; } } }"));
    expect(output).not.toMatch(/dataIter|next\.value|model\.train\(\)|\.to\(this\.device\)/);
    expect(output).toContain("await trainer.run();");
    expect(notes.join("\n")).toContain("Trainer.run()'s loop (line 49) → TrainerModule.trainingStep() with manual optimisation; Trainer.run() fits it with LightningTrainer({ maxEpochs: -1 })");
  });

  it("a fit(dataset) method with an epoch loop: the parameter goes to the module's constructor, the epoch's locals become fields, its counter the Trainer's", async () => {
    const input = ts`
      import { tf, nn, F, optim, data } from "lightning-ts/torch";

      class Net extends nn.Module {
        fc = new nn.Linear(4, 2);
        override forward(x: tf.Tensor): tf.Tensor {
          return this.fc.forward(x);
        }
      }

      class Fitter {
        model: Net;
        history: number[] = [];
        constructor(model: Net) {
          this.model = model;
        }
        fit(dataset: data.TensorDataset, epochs: number): void {
          const optimizer = new optim.SGD(this.model.parameters(), { lr: 0.1 });
          const loader = new data.DataLoader(dataset, { batchSize: 4 });
          for (let epoch = 1; epoch <= epochs; epoch++) {
            let total = 0;
            for (const [x, y] of loader) {
              optimizer.zeroGrad();
              const loss = F.crossEntropy(this.model.forward(x), y);
              loss.backward();
              optimizer.step();
              total += loss.item();
            }
            this.history.push(total);
            console.log(\`epoch \${epoch}: \${total}\`);
          }
        }
      }

      const fitter = new Fitter(new Net());
      fitter.fit(new data.TensorDataset(tf.zeros([8, 4]), tf.zeros([8], "int32")), 2);
    `;
    const { output } = await toModule(input);
    const out = flat(output);
    expect(out).toContain(flat("async fit(dataset: data.TensorDataset, epochs: number): Promise<void> { await new Trainer({ maxEpochs: epochs }).fit(new FitterModule(this, dataset)); }"));
    expect(out).toContain(flat("private total!: number; constructor(private readonly owner: Fitter, private readonly dataset: data.TensorDataset) {"));
    expect(out).toContain(flat("override trainDataloader() { const loader = new data.DataLoader(this.dataset, { batchSize: 4 }); return loader; }"));
    expect(out).toContain(flat("override onTrainEpochStart() { this.total = 0; }"));
    expect(out).toContain(flat("override trainingStep([x, y]: [tf.Tensor, tf.Tensor], batchIdx: number) { const optimizer = this.optimizers(); optimizer.zeroGrad(); const loss = F.crossEntropy(this.model.forward(x), y); this.manualBackward(loss); optimizer.step(); this.total += loss.item(); }"));
    expect(out).toContain(flat("override onTrainEpochEnd() { this.owner.history.push(this.total); this.print(`epoch ${this.currentEpoch + 1}: ${this.total}`); }"));
    expect(output).toContain("await fitter.fit(");
  });

  it("the DDP tutorial's Trainer: methods between train() and the backward are inlined, the handed optimizer and loader are the module's, what it calls of the class is no longer private, and main() becomes async", async () => {
    const input = ts`
      import { tf, nn, F, optim, data } from "lightning-ts/torch";

      class Trainer {
        model: nn.Linear;
        trainData: data.DataLoader<[tf.Tensor, tf.Tensor]>;
        optimizer: optim.Optimizer;
        constructor(model: nn.Linear, trainData: data.DataLoader<[tf.Tensor, tf.Tensor]>, optimizer: optim.Optimizer) {
          this.model = model;
          this.trainData = trainData;
          this.optimizer = optimizer;
        }
        private runBatch(source: tf.Tensor, targets: tf.Tensor): number {
          this.optimizer.zeroGrad();
          const loss = F.mseLoss(this.model.forward(source), targets);
          loss.backward();
          this.optimizer.step();
          return loss.item();
        }
        private runEpoch(epoch: number): void {
          let last = 0;
          for (const [source, targets] of this.trainData) {
            last = this.runBatch(source, targets);
          }
          this.report(epoch, last);
        }
        private report(epoch: number, last: number): void {
          console.log(epoch, last);
        }
        train(maxEpochs: number): void {
          for (let epoch = 0; epoch < maxEpochs; epoch++) {
            this.runEpoch(epoch);
          }
        }
      }

      function main(epochs: number): void {
        const model = new nn.Linear(4, 1);
        const loader = new data.DataLoader(new data.TensorDataset(tf.zeros([8, 4]), tf.zeros([8, 1])), { batchSize: 4 });
        const trainer = new Trainer(model, loader, new optim.SGD(model.parameters(), { lr: 0.1 }));
        trainer.train(epochs);
      }

      main(2);
    `;
    const { output, notes } = await toModule(input);
    const out = flat(output);
    expect(notes.join("\n")).toContain("Trainer.runBatch() (line 12), which leads to backward, → its statements in place of its one call in Trainer.runEpoch()");
    expect(out).toContain(flat("async train(maxEpochs: number): Promise<void> { await new LightningTrainer({ maxEpochs }).fit(new TrainerModule(this)); }"));
    expect(out).toContain(flat("override configureOptimizers() { return this.owner.optimizer; } override trainDataloader() { return this.owner.trainData; }"));
    expect(out).toContain(flat("override trainingStep([source, targets]: [tf.Tensor, tf.Tensor], batchIdx: number) { const optimizer = this.optimizers(); optimizer.zeroGrad(); const loss = F.mseLoss(this.model.forward(source), targets); this.manualBackward(loss); optimizer.step(); this.last = loss.item(); }"));
    expect(out).toContain(flat("override onTrainEpochEnd() { this.owner.report(this.currentEpoch, this.last); }"));
    // (the module calls it: not private any more; the inlined methods are gone)
    expect(out).toContain(flat("report(epoch: number, last: number): void {"));
    expect(output).not.toMatch(/private (runBatch|runEpoch|report)|this\.runEpoch|this\.runBatch/);
    expect(out).toContain(flat("async function main(epochs: number): Promise<void> {"));
    expect(out).toContain(flat("await trainer.train(epochs); } await main(2);"));
  });

  it("an async fit(loader, epochs) that evaluates and saves after each epoch: the loader it is handed is the module's, the epoch's end an async hook", async () => {
    const input = ts`
      import { tf, nn, F, optim, data, save } from "lightning-ts/torch";

      class Net extends nn.Module {
        fc = new nn.Linear(4, 2);
        override forward(x: tf.Tensor): tf.Tensor {
          return this.fc.forward(x);
        }
      }

      class Fitter {
        model: Net;
        valLoader: data.DataLoader<[tf.Tensor, tf.Tensor]>;
        constructor(model: Net, valLoader: data.DataLoader<[tf.Tensor, tf.Tensor]>) {
          this.model = model;
          this.valLoader = valLoader;
        }
        async fit(loader: data.DataLoader<[tf.Tensor, tf.Tensor]>, epochs: number): Promise<void> {
          const optimizer = new optim.SGD(this.model.parameters(), { lr: 0.1 });
          for (let epoch = 0; epoch < epochs; epoch++) {
            this.model.train();
            for (const [x, y] of loader) {
              optimizer.zeroGrad();
              const loss = F.crossEntropy(this.model.forward(x), y);
              loss.backward();
              optimizer.step();
            }
            this.model.eval();
            let correct = 0;
            for (const [x, y] of this.valLoader) {
              correct += this.model.forward(x).argMax(1).equal(y).sum().item();
            }
            console.log(\`epoch \${epoch}: \${correct}\`);
            await save(this.model.stateDict(), "last.ckpt");
          }
        }
      }

      const ds = new data.TensorDataset(tf.randomNormal([8, 4]), tf.zeros([8], "int32"));
      const fitter = new Fitter(new Net(), new data.DataLoader(ds, { batchSize: 4 }));
      await fitter.fit(new data.DataLoader(ds, { batchSize: 4 }), 2);
    `;
    const { output } = await toModule(input);
    const out = flat(output);
    expect(out).toContain(flat("async fit(loader: data.DataLoader<[tf.Tensor, tf.Tensor]>, epochs: number): Promise<void> { await new Trainer({ maxEpochs: epochs }).fit(new FitterModule(this, loader)); }"));
    expect(out).toContain(flat("override trainDataloader() { return this.loader; }"));
    expect(out).toContain(flat("override async onTrainEpochEnd() { this.model.eval(); let correct = 0; for (const [x, y] of this.owner.valLoader) {"));
    expect(out).toContain(flat("await save(this.model.stateDict(), \"last.ckpt\"); } }"));
  });

  it("a train() that returns what its loop collected: the local becomes the module's public field, read once fit returns; a call on the construction itself is awaited", async () => {
    const input = ts`
      import { tf, nn, F, optim, data } from "lightning-ts/torch";
      class Net extends nn.Module { fc = new nn.Linear(4, 2); override forward(x: tf.Tensor): tf.Tensor { return this.fc.forward(x); } }
      class Runner {
        private model: Net;
        private optimizer?: optim.Optimizer;
        constructor(model: Net) { this.model = model; }
        train(loader: data.DataLoader<[tf.Tensor, tf.Tensor]>, epochs = 2): number[] {
          this.optimizer = new optim.SGD(this.model.parameters(), { lr: 0.1 });
          const losses: number[] = [];
          for (let e = 0; e < epochs; e++) {
            for (const [x, y] of loader) {
              this.optimizer.zeroGrad();
              const loss = F.crossEntropy(this.model.forward(x), y);
              loss.backward();
              this.optimizer.step();
              losses.push(loss.item());
            }
          }
          return losses;
        }
      }
      const ds = new data.TensorDataset(tf.randomNormal([8, 4]), tf.zeros([8], "int32"));
      console.log(new Runner(new Net()).train(new data.DataLoader(ds, { batchSize: 4 })));
    `;
    const { output } = await toModule(input);
    const out = flat(output);
    expect(out).toContain(flat("async train(loader: data.DataLoader<[tf.Tensor, tf.Tensor]>, epochs = 2): Promise<number[]> { const module = new RunnerModule(this, loader); await new Trainer({ maxEpochs: epochs }).fit(module); return module.losses; }"));
    expect(out).toContain(flat("readonly model: Net; losses!: number[];"));
    expect(out).toContain(flat("override onFitStart() { this.losses = []; }"));
    // (the module reads the class's private model and optimizer: plain members now)
    expect(out).toContain(flat("class Runner { model: Net; optimizer?: optim.Optimizer;"));
    expect(out).toContain(flat("console.log(await new Runner(new Net()).train(new data.DataLoader(ds, { batchSize: 4 })));"));
  });

  it("what has no place in the module stays for a human, with the reason: a local the step reads that is not state, a caller that cannot await, a `while (true)` that does not start by taking its batch", async () => {
    // (a number, a string or an annotated local becomes a field; an untyped array cannot)
    const notState = MINGPT_SHAPE.replace("this.iterNum = 0;\n", "this.iterNum = 0;\n    const losses = [];\n").replace("this.iterNum += 1;", "this.iterNum += 1;\n        losses.push(this.loss.item());");
    expect(notState).toContain("const losses = [];");
    const a = await migrate(notState, { to: "module" });
    expect(a.status).toBe("needs-human");
    expect("reason" in a && a.reason).toContain("`losses` is a local of Trainer.run() that another part of the training reads: keep it on the trainer (`this.losses`)");

    // (a function declaration that calls it becomes async itself; a callback cannot)
    const syncCaller = MINGPT_SHAPE.replace("trainer.run();", "[0].forEach(() => trainer.run());");
    const b = await migrate(syncCaller, { to: "module" });
    expect(b.status).toBe("needs-human");
    expect("reason" in b && b.reason).toContain("Trainer.run() fits a Trainer now, which is asynchronous: call it from an async function");

    const notFetching = MINGPT_SHAPE.replace("let next = dataIter.next();", "console.log('step');\n      let next = dataIter.next();");
    const c = await migrate(notFetching, { to: "module" });
    expect(c.status).toBe("needs-human");
    expect("reason" in c && c.reason).toContain("does not start by taking its batch from an iterator of trainLoader");
  });
});
