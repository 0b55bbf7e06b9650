// Port of pytorch/examples vae/main.py (https://github.com/pytorch/examples/blob/main/vae/main.py),
// the script Lightning's "convert a VAE" walkthrough starts from.
// Data: MNIST (torchvision download) is not available offline -> the Fashion-MNIST subset bundled
//   with lightning-ts (6,000 train / 1,000 test images, same 28×28 format), data.FashionMNIST.
// Defaults kept: batch size 128, Adam lr 1e-3, seed 1, log interval 10, 784-400-20 model; epochs
//   10 -> 3 so it runs in a minute. torchvision's save_image is lightning-ts/torch's saveImage.
// Dropped: --no-mps (no MPS backend); DataLoader's num_workers/pin_memory (no worker processes).
import { mkdirSync } from "node:fs";
import { parseArgs } from "node:util";
import { tf, nn, F, optim, data, cuda, device as torchDevice, manualSeed, noGrad, randnLike, randn, saveImage } from "lightning-ts/torch";

const { values: opts } = parseArgs({
  options: {
    "batch-size": { type: "string", default: "128" }, // input batch size for training (default: 128)
    epochs: { type: "string", default: "3" }, // number of epochs to train (upstream: 10)
    "no-cuda": { type: "boolean", default: false }, // disables CUDA training
    seed: { type: "string", default: "1" }, // random seed (default: 1)
    "log-interval": { type: "string", default: "10" }, // how many batches to wait before logging training status
  },
});
const args = { batchSize: Number(opts["batch-size"]), epochs: Number(opts.epochs), cuda: !opts["no-cuda"] && cuda.isAvailable(), seed: Number(opts.seed), logInterval: Number(opts["log-interval"]) };

manualSeed(args.seed);

const device = args.cuda ? torchDevice("cuda") : torchDevice("cpu");

const trainLoader = new data.DataLoader(await data.FashionMNIST.load({ split: "train" }), { batchSize: args.batchSize, shuffle: true });
const testLoader = new data.DataLoader(await data.FashionMNIST.load({ split: "test" }), { batchSize: args.batchSize, shuffle: false });

class VAE extends nn.Module {
  fc1 = new nn.Linear(784, 400);
  fc21 = new nn.Linear(400, 20);
  fc22 = new nn.Linear(400, 20);
  fc3 = new nn.Linear(20, 400);
  fc4 = new nn.Linear(400, 784);

  encode(x: tf.Tensor): [tf.Tensor, tf.Tensor] {
    const h1 = F.relu(this.fc1.forward(x));
    return [this.fc21.forward(h1), this.fc22.forward(h1)];
  }

  reparameterize(mu: tf.Tensor, logvar: tf.Tensor): tf.Tensor {
    const std = tf.exp(logvar.mul(0.5));
    const eps = randnLike(std);
    return mu.add(eps.mul(std));
  }

  decode(z: tf.Tensor): tf.Tensor {
    const h3 = F.relu(this.fc3.forward(z));
    return tf.sigmoid(this.fc4.forward(h3));
  }

  override forward(x: tf.Tensor): [tf.Tensor, tf.Tensor, tf.Tensor] {
    const [mu, logvar] = this.encode(x.reshape([-1, 784]));
    const z = this.reparameterize(mu, logvar);
    return [this.decode(z), mu, logvar];
  }
}

const model = new VAE().to(device);
const optimizer = new optim.Adam(model.parameters(), { lr: 1e-3 });

// Reconstruction + KL divergence losses summed over all elements and batch
function lossFunction(reconX: tf.Tensor, x: tf.Tensor, mu: tf.Tensor, logvar: tf.Tensor): tf.Tensor {
  const BCE = F.binaryCrossEntropy(reconX, x.reshape([-1, 784]), { reduction: "sum" });

  // see Appendix B from VAE paper:
  // Kingma and Welling. Auto-Encoding Variational Bayes. ICLR, 2014
  // https://arxiv.org/abs/1312.6114
  // 0.5 * sum(1 + log(sigma^2) - mu^2 - sigma^2)
  const KLD = tf.sum(logvar.add(1).sub(mu.pow(2)).sub(logvar.exp())).mul(-0.5);

  return BCE.add(KLD);
}

function train(epoch: number): void {
  model.train();
  let trainLoss = 0;
  let batchIdx = 0;
  for (const [x] of trainLoader) {
    const input = x.to(device);
    optimizer.zeroGrad();
    const [reconBatch, mu, logvar] = model.forward(input);
    const loss = lossFunction(reconBatch, input, mu, logvar);
    loss.backward();
    trainLoss += loss.item();
    optimizer.step();
    if (batchIdx % args.logInterval === 0) {
      console.log(
        `Train Epoch: ${epoch} [${batchIdx * input.shape[0]}/${trainLoader.dataset.length} ` +
          `(${((100 * batchIdx) / trainLoader.length).toFixed(0)}%)]\tLoss: ${(loss.item() / input.shape[0]).toFixed(6)}`,
      );
    }
    batchIdx++;
  }
  console.log(`====> Epoch: ${epoch} Average loss: ${(trainLoss / trainLoader.dataset.length).toFixed(4)}`);
}

function test(epoch: number): void {
  model.eval();
  let testLoss = 0;
  noGrad(() => {
    let i = 0;
    for (const [x] of testLoader) {
      const input = x.to(device);
      const [reconBatch, mu, logvar] = model.forward(input);
      testLoss += lossFunction(reconBatch, input, mu, logvar).item();
      if (i === 0) {
        const n = Math.min(input.shape[0], 8);
        const comparison = tf.concat([input.slice(0, n), reconBatch.reshape([-1, 1, 28, 28]).slice(0, n)]);
        saveImage(comparison, `results/reconstruction_${epoch}.png`, { nrow: n });
      }
      i++;
    }
  });
  testLoss /= testLoader.dataset.length;
  console.log(`====> Test set loss: ${testLoss.toFixed(4)}`);
}

mkdirSync("results", { recursive: true });
for (let epoch = 1; epoch <= args.epochs; epoch++) {
  train(epoch);
  test(epoch);
  noGrad(() => {
    let sample = randn([64, 20]).to(device);
    sample = model.decode(sample);
    saveImage(sample.reshape([64, 1, 28, 28]), `results/sample_${epoch}.png`);
  });
}
