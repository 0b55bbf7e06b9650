/** The models the benchmarks share (the MLP and CNN; PyTorch's side in bench/pytorch.ts mirrors them). */
import { tf, nn, F } from "lightning-ts/torch";

/** MLP 784-128-10 on 28×28 images. */
export class MLP extends nn.Module {
  fc1 = new nn.Linear(784, 128);
  fc2 = new nn.Linear(128, 10);
  override forward(x: tf.Tensor): tf.Tensor {
    return this.fc2.forward(F.relu(this.fc1.forward(F.flatten(x, 1))));
  }
}

/** CNN conv32-pool-conv64-pool-fc on 28×28×1. */
export class CNN extends nn.Module {
  conv1 = new nn.Conv2d(1, 32, 3, { padding: 1 });
  conv2 = new nn.Conv2d(32, 64, 3, { padding: 1 });
  fc = new nn.Linear(64 * 7 * 7, 10);
  override forward(x: tf.Tensor): tf.Tensor {
    x = F.maxPool2d(F.relu(this.conv1.forward(x)), 2);
    x = F.maxPool2d(F.relu(this.conv2.forward(x)), 2);
    return this.fc.forward(F.flatten(x, 1));
  }
}
