/**
 * The VAE of train.ts as a LightningModule, finished by hand from `lit-migrate --to module`'s
 * output (train.module.ts) the way Lightning's "convert a VAE" walkthrough finishes it:
 * - validation on the test set as a `validationStep` (val_loss, checkpoints on it), and the
 *   reconstructions and samples logged as images to TensorBoard instead of PNG files;
 * - the decoder's last layer gives logits and the loss uses `binaryCrossEntropyWithLogits`, so
 *   the same script trains under `--trainer.precision 16-mixed` / `bf16-mixed` (PyTorch's autocast
 *   refuses `binary_cross_entropy`, and so does lightning-ts);
 * - a LightningDataModule for the data, and every Trainer flag on the command line (LightningCLI):
 *
 *   npx tsx examples/vae/lightning.ts fit --trainer.maxEpochs 3
 *   npx tsx examples/vae/lightning.ts fit --trainer.fastDevRun true
 *   npx tsx examples/vae/lightning.ts fit --trainer.limitTrainBatches 0.1 --model.lr 3e-3
 *   npx tsx examples/vae/lightning.ts fit --trainer.precision bf16-mixed
 *   npx tsx examples/vae/lightning.ts fit --help
 */
import { tf, nn, F, optim, data, randnLike, randn, makeGrid } from "lightning-ts/torch";
import { LightningModule, LightningDataModule, LightningCLI, ModelCheckpoint, TensorBoardLogger } from "lightning-ts";

class VAE extends nn.Module {
  fc1 = new nn.Linear(784, 400);
  fc21: nn.Linear;
  fc22: nn.Linear;
  fc3: nn.Linear;
  fc4 = new nn.Linear(400, 784);

  constructor(latentDim = 20) {
    super();
    this.fc21 = new nn.Linear(400, latentDim);
    this.fc22 = new nn.Linear(400, latentDim);
    this.fc3 = new nn.Linear(latentDim, 400);
  }

  encode(x: tf.Tensor): [tf.Tensor, tf.Tensor] {
    const h1 = F.relu(this.fc1.forward(x));
    return [this.fc21.forward(h1), this.fc22.forward(h1)];
  }

  reparameterize(mu: tf.Tensor, logvar: tf.Tensor): tf.Tensor {
    const std = tf.exp(logvar.mul(0.5));
    return mu.add(randnLike(std).mul(std));
  }

  /** The decoder's logits; `decode` is their sigmoid, the image. */
  decodeLogits(z: tf.Tensor): tf.Tensor {
    return this.fc4.forward(F.relu(this.fc3.forward(z)));
  }

  decode(z: tf.Tensor): tf.Tensor {
    return tf.sigmoid(this.decodeLogits(z));
  }

  override forward(x: tf.Tensor): [tf.Tensor, tf.Tensor, tf.Tensor] {
    const [mu, logvar] = this.encode(x.reshape([-1, 784]));
    return [this.decodeLogits(this.reparameterize(mu, logvar)), mu, logvar];
  }
}

/** Reconstruction (from logits) + KL divergence, summed over the batch, as in train.ts. */
function lossFunction(reconLogits: tf.Tensor, x: tf.Tensor, mu: tf.Tensor, logvar: tf.Tensor): tf.Tensor {
  const BCE = F.binaryCrossEntropyWithLogits(reconLogits, x.reshape([-1, 784]), { reduction: "sum" });
  const KLD = tf.sum(logvar.add(1).sub(mu.pow(2)).sub(logvar.exp())).mul(-0.5);
  return BCE.add(KLD);
}

export class LitVAE extends LightningModule {
  readonly model: VAE;
  readonly lr: number;
  readonly latentDim: number;

  constructor(options: { lr?: number; latentDim?: number } = {}) {
    super();
    this.lr = options.lr ?? 1e-3;
    this.latentDim = options.latentDim ?? 20;
    this.saveHyperparameters({ lr: this.lr, latentDim: this.latentDim });
    this.model = new VAE(this.latentDim);
  }

  override trainingStep([x]: [tf.Tensor, tf.Tensor]) {
    const [logits, mu, logvar] = this.model.forward(x);
    const loss = lossFunction(logits, x, mu, logvar).div(x.shape[0]!);
    this.log("train_loss", loss, { progBar: true });
    return loss;
  }

  override validationStep([x]: [tf.Tensor, tf.Tensor], batchIdx: number) {
    const [logits, mu, logvar] = this.model.forward(x);
    this.log("val_loss", lossFunction(logits, x, mu, logvar).div(x.shape[0]!), { progBar: true });
    if (batchIdx === 0) {
      // the first 8 test images above their reconstructions, as train.ts's reconstruction_N.png
      const n = Math.min(x.shape[0]!, 8);
      const comparison = tf.concat([x.slice(0, n), tf.sigmoid(logits).reshape([-1, 1, 28, 28]).slice(0, n)]);
      this.tensorboard()?.addImage("reconstructions", makeGrid(comparison, { nrow: n }), this.globalStep);
    }
  }

  override onValidationEpochEnd() {
    // 64 images decoded from N(0, I), as train.ts's sample_N.png
    const samples = this.model.decode(randn([64, this.latentDim])).reshape([64, 1, 28, 28]);
    this.tensorboard()?.addImage("samples", makeGrid(samples), this.globalStep);
  }

  override configureOptimizers() {
    return new optim.Adam(this.parameters(), { lr: this.lr });
  }

  private tensorboard() {
    const logger = this.loggers.find((l) => l instanceof TensorBoardLogger) as TensorBoardLogger | undefined;
    return logger?.experiment ?? null;
  }
}

export class FashionMNISTDataModule extends LightningDataModule {
  readonly batchSize: number;
  private trainSet!: data.Dataset<[tf.Tensor, tf.Tensor]>;
  private testSet!: data.Dataset<[tf.Tensor, tf.Tensor]>;

  constructor(options: { batchSize?: number } = {}) {
    super();
    this.batchSize = options.batchSize ?? 128;
  }

  override async setup() {
    this.trainSet ??= await data.FashionMNIST.load({ split: "train" });
    this.testSet ??= await data.FashionMNIST.load({ split: "test" });
  }

  override trainDataloader() {
    return new data.DataLoader(this.trainSet, { batchSize: this.batchSize, shuffle: true });
  }

  override valDataloader() {
    return new data.DataLoader(this.testSet, { batchSize: this.batchSize });
  }
}

const cli = new LightningCLI(LitVAE, FashionMNISTDataModule, {
  trainerDefaults: { maxEpochs: 3, callbacks: [new ModelCheckpoint({ monitor: "val_loss", filename: "vae-{epoch}-{val_loss:.2f}" })] },
  seedEverythingDefault: 1,
});
await cli.run();
