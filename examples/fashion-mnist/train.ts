/**
 * Fashion-MNIST with a two-layer MLP, written the PyTorch way against `lightning-ts/torch`.
 *
 *   npx tsx examples/fashion-mnist/train.ts               # bundled subset: 6,000 train / 1,000 test
 *   npx tsx examples/fashion-mnist/train.ts --epochs 5    # more epochs
 *   npx tsx examples/fashion-mnist/train.ts --full        # the default data root instead: the full
 *                                                          # 60,000 + 10,000 set when Debian's
 *                                                          # dataset-fashion-mnist is installed
 *
 * Migrate it with `npx lit-migrate examples/fashion-mnist/train.ts --to lite` (or `--to module`).
 */
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { tf, nn, F, optim, data, cuda, manualSeed, noGrad } from "lightning-ts/torch";

class Net extends nn.Module {
  fc1 = new nn.Linear(784, 128);
  fc2 = new nn.Linear(128, 10);

  override forward(x: tf.Tensor): tf.Tensor {
    return this.fc2.forward(F.relu(this.fc1.forward(x.reshape([-1, 784]))));
  }
}

async function main(args: { epochs: number; lr: number; batchSize: number; root?: string; seed: number }) {
  manualSeed(args.seed);
  const device = cuda.isAvailable() ? "cuda" : "cpu";
  const model = new Net().to(device);
  const optimizer = new optim.Adam(model.parameters(), { lr: args.lr });

  const trainSet = await data.FashionMNIST.load({ split: "train", root: args.root });
  const testSet = await data.FashionMNIST.load({ split: "test", root: args.root });
  const trainLoader = new data.DataLoader(trainSet, { batchSize: args.batchSize, shuffle: true });
  const testLoader = new data.DataLoader(testSet, { batchSize: 1000 });
  console.log(`Fashion-MNIST: ${trainSet.length} train / ${testSet.length} test images, backend ${tf.getBackend()}`);

  const started = Date.now();
  for (let epoch = 1; epoch <= args.epochs; epoch++) {
    model.train();
    let lossSum = 0;
    let seen = 0;
    for (const [x, y] of trainLoader) {
      const xb = x.to(device);
      const yb = y.to(device);
      optimizer.zeroGrad();
      const loss = F.crossEntropy(model.forward(xb), yb);
      loss.backward();
      optimizer.step();
      lossSum += loss.item() * yb.shape[0];
      seen += yb.shape[0];
    }
    const secs = (Date.now() - started) / 1000;
    console.log(`epoch ${epoch}/${args.epochs}  train loss ${(lossSum / seen).toFixed(4)}  (${secs.toFixed(1)} s)`);
  }

  model.eval();
  let correct = 0;
  noGrad(() => {
    for (const [x, y] of testLoader) {
      correct += model.forward(x.to(device)).argMax(1).equal(y.to(device)).sum().item();
    }
  });
  console.log(`test accuracy ${((100 * correct) / testSet.length).toFixed(2)}% (${correct}/${testSet.length})`);
}

const { values } = parseArgs({
  options: {
    epochs: { type: "string", default: "3" },
    lr: { type: "string", default: "1e-3" },
    "batch-size": { type: "string", default: "64" },
    seed: { type: "string", default: "0" },
    full: { type: "boolean", default: false },
  },
});
// The subset bundled with the package, unless --full asks for the default data root.
const bundled = fileURLToPath(new URL("../../fixtures/data/fashion-mnist", import.meta.url));

await main({
  epochs: Number(values.epochs),
  lr: Number(values.lr),
  batchSize: Number(values["batch-size"]),
  seed: Number(values.seed),
  root: values.full ? undefined : bundled,
});
