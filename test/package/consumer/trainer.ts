import { LightningModule, Trainer } from "lightning-ts";
import { tf, nn, F, optim, data, manualSeed } from "lightning-ts/torch";

class Classifier extends LightningModule {
  readonly net = new nn.Sequential(new nn.Linear(8, 16), new nn.ReLU(), new nn.Linear(16, 3));
  override trainingStep(batch: tf.Tensor[]): tf.Tensor {
    const [x, y] = batch;
    const loss = F.crossEntropy(this.net.forward(x!), y!);
    this.log("train_loss", loss);
    return loss;
  }
  override configureOptimizers() {
    return new optim.Adam(this.parameters(), { lr: 1e-2 });
  }
}

async function main(): Promise<void> {
  manualSeed(0);
  const ds = new data.TensorDataset(tf.randomNormal([64, 8]), tf.randomUniformInt([64], 0, 3));
  const trainer = new Trainer({ maxEpochs: 2, enableProgressBar: false, logger: false, enableCheckpointing: false });
  await trainer.fit(new Classifier(), { trainDataloaders: new data.DataLoader(ds, { batchSize: 16 }) });
  console.log("trained", trainer.globalStep, "steps; callback metrics:", Object.keys(trainer.callbackMetrics));
}
void main();
