// Lite, MLP, SGD: `DEVICES` processes (self-launched under ddp) each with batch 16/DEVICES, or one
// process with batch 16. Rank 0 writes the final weights to `OUT`. `CRASH_RANK` makes that rank
// throw in the second epoch, `KILL_RANK` kills it there with SIGKILL. `STRATEGY=ddp_spawn`: the
// workers run run(), and this process writes what rank 0's run() returned. `ACCELERATOR=webgpu`:
// every rank on WebGPU. LIGHTNING_TS_DDP_BUCKET_CAP_MB sets the gradient buckets' size;
// `TRAINING_MARKER=<path>`: each rank creates `<path>.<rank>` once it has taken a step.
import { writeFileSync } from "node:fs";
import { LightningLite, DDPStrategy } from "lightning-ts";
import { tf, nn, F, optim, data, manualSeed } from "lightning-ts/torch";

const devices = Number(process.env.DEVICES ?? 1);
const numNodes = Number(process.env.NUM_NODES ?? 1);

class Lite extends LightningLite {
  override run(): { weights: number[][]; worldSize: number; rankSum: number; buckets: number } {
    manualSeed(0);
    const x = tf.randomNormal([64, 4], 0, 1, "float32", 1);
    const y = tf.cast(tf.greater(x.sum(1), 0), "int32");
    let model = new nn.Sequential(new nn.Linear(4, 16), new nn.ReLU(), new nn.Linear(16, 2));
    let optimizer = new optim.SGD(model.parameters(), { lr: 0.1, momentum: 0.9 });
    [model, optimizer] = this.setup(model, optimizer);
    const loader = this.setupDataloaders(new data.DataLoader(new data.TensorDataset(x, y), { batchSize: 16 / this.worldSize }));
    for (let epoch = 0; epoch < Number(process.env.EPOCHS ?? 3); epoch++) {
      if (epoch === 1 && process.env.CRASH_RANK === String(this.globalRank)) throw new Error(`rank ${this.globalRank} fails on purpose`);
      if (epoch === 1 && process.env.KILL_RANK === String(this.globalRank)) process.kill(process.pid, "SIGKILL");
      for (const [xb, yb] of loader) {
        optimizer.zeroGrad();
        const loss = F.crossEntropy(model.forward(xb), yb);
        this.backward(loss);
        optimizer.step();
        if (process.env.TRAINING_MARKER && epoch === 0) writeFileSync(`${process.env.TRAINING_MARKER}.${this.globalRank}`, "");
      }
    }
    const reduced = this.allReduce(tf.scalar(this.globalRank + 1), "sum") as tf.Tensor;
    const buckets = this.strategy instanceof DDPStrategy ? this.strategy.gradientBuckets.length : 0;
    const result = { weights: model.parameters().map((p) => Array.from(p.dataSync())), worldSize: this.worldSize, rankSum: reduced.dataSync()[0]!, buckets };
    if (this.globalRank === 0 && !spawn) writeFileSync(process.env.OUT!, JSON.stringify(result));
    return result;
  }
}

const spawn = process.env.STRATEGY === "ddp_spawn";
const accelerator = (process.env.ACCELERATOR ?? "cpu") as "cpu" | "webgpu";
const result = await new Lite({ accelerator, devices, numNodes, strategy: spawn ? "ddp_spawn" : devices * numNodes > 1 ? "ddp" : "auto" }).run();
if (spawn) writeFileSync(process.env.OUT!, JSON.stringify(result));
