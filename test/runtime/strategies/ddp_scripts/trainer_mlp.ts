// The Trainer, the same MLP as lite_mlp.ts: `DEVICES` processes with batch 16/DEVICES, or one
// with 16. Rank 0 writes the weights and the synced (syncDist) training loss to `OUT`.
// `STRATEGY=ddp_spawn`: the workers train; this process writes what it got back. `CRASH_RANK`
// makes that rank throw in its second epoch.
import { writeFileSync } from "node:fs";
import { LightningModule, Trainer } from "lightning-ts";
import { tf, nn, F, optim, data, manualSeed } from "lightning-ts/torch";

const devices = Number(process.env.DEVICES ?? 1);
manualSeed(0);
const x = tf.randomNormal([64, 4], 0, 1, "float32", 1);
const y = tf.cast(tf.greater(x.sum(1), 0), "int32");

class Net extends LightningModule {
  model = new nn.Sequential(new nn.Linear(4, 16), new nn.ReLU(), new nn.Linear(16, 2));

  override trainingStep([xb, yb]: [tf.Tensor, tf.Tensor]): tf.Tensor {
    if (this.currentEpoch === 1 && process.env.CRASH_RANK === String(this.globalRank)) throw new Error(`rank ${this.globalRank} fails on purpose`);
    const loss = F.crossEntropy(this.model.forward(xb), yb);
    this.log("train_loss", loss, { syncDist: true });
    return loss;
  }

  override validationStep([xb, yb]: [tf.Tensor, tf.Tensor]): void {
    this.log("val_loss", F.crossEntropy(this.model.forward(xb), yb), { syncDist: true });
  }

  override configureOptimizers() {
    return new optim.Adam(this.parameters(), { lr: 1e-2 });
  }

  override trainDataloader() {
    return new data.DataLoader(new data.TensorDataset(x, y), { batchSize: 16 / devices });
  }
}

const net = new Net();
const strategy = (process.env.STRATEGY ?? "auto") as "auto" | "ddp_spawn";
const trainer = new Trainer({ accelerator: "cpu", devices, strategy, maxEpochs: 3, enableProgressBar: false, logger: false, enableCheckpointing: false, enableModelSummary: false });
await trainer.fit(net);
if (trainer.isGlobalZero) {
  writeFileSync(process.env.OUT!, JSON.stringify({ weights: net.parameters().map((p) => Array.from(p.dataSync())), loss: trainer.callbackMetrics.train_loss, worldSize: trainer.worldSize }));
}
// A second stage in the same job (the ranks stay joined after fit), and a barrier after it.
if (process.env.THEN_VALIDATE) {
  const results = await trainer.validate(net, new data.DataLoader(new data.TensorDataset(x, y), { batchSize: 16 / devices }));
  trainer.strategy.barrier();
  if (trainer.isGlobalZero) writeFileSync(process.env.THEN_VALIDATE, JSON.stringify(results));
}
// A second Trainer in the same script joins the same job (one per process, as torch.distributed's
// default process group).
if (process.env.SECOND_TRAINER) {
  const second = new Trainer({ accelerator: "cpu", devices, strategy, enableProgressBar: false, logger: false, enableCheckpointing: false, enableModelSummary: false });
  const results = await second.validate(net, new data.DataLoader(new data.TensorDataset(x, y), { batchSize: 16 / devices }));
  if (second.isGlobalZero) writeFileSync(process.env.SECOND_TRAINER, JSON.stringify(results));
}
