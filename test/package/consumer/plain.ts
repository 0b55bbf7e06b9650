import { tf, nn, F, optim, data, manualSeed } from "lightning-ts/torch";

manualSeed(0);
const x = tf.randomNormal([64, 8]);
const y = tf.randomUniformInt([64], 0, 3);
const loader = new data.DataLoader(new data.TensorDataset(x, y), { batchSize: 16, shuffle: true });
const model = new nn.Sequential(new nn.Linear(8, 16), new nn.ReLU(), new nn.Linear(16, 3));
const optimizer = new optim.SGD(model.parameters(), { lr: 0.1 });
for (let epoch = 0; epoch < 2; epoch++) {
  for (const [xb, yb] of loader) {
    optimizer.zeroGrad();
    const loss = F.crossEntropy(model.forward(xb!.reshape([-1, 8])), yb!);
    loss.backward();
    optimizer.step();
    console.log(`loss ${loss.item().toFixed(4)} on ${tf.getBackend()}`);
  }
}
