/**
 * Shared setup for the runtime tests: the pure-JS cpu backend (deterministic float32), pinned
 * through LIGHTNING_TS_BACKEND so the `cpu` accelerator keeps it, and a small MLP.
 */
import { LightningLite, SingleDeviceStrategy, type LightningLiteOptions } from "lightning-ts";
import { tf, nn, F, selectBackend } from "lightning-ts/torch";

export async function usePureJsCpu(): Promise<void> {
  process.env.LIGHTNING_TS_BACKEND = "cpu";
  await selectBackend("cpu");
}

export class Net extends nn.Module {
  fc1 = new nn.Linear(6, 8);
  fc2 = new nn.Linear(8, 3);

  override forward(x: tf.Tensor): tf.Tensor {
    return this.fc2.forward(F.relu(this.fc1.forward(x)));
  }

  /** A method other than forward, to check wrappers forward it to the model. */
  double(x: tf.Tensor): tf.Tensor {
    return this.forward(x).mul(2);
  }
}

/** A Lite whose `run` is never used: the tests drive its methods directly. */
export class TestLite extends LightningLite {
  constructor(options: LightningLiteOptions = { accelerator: "cpu", devices: 1 }) {
    super(options);
  }
  run(): void {}
}

/** A deterministic input batch with values in [-1, 1]. */
export function batch(n: number, features: number, phase = 0): tf.Tensor {
  const v = new Float32Array(n * features);
  for (let i = 0; i < v.length; i++) v[i] = Math.sin(1.7 * i + phase);
  return tf.tensor2d(v, [n, features]);
}

export function labels(n: number, classes: number, phase = 0): tf.Tensor {
  return tf.tensor1d(
    Array.from({ length: n }, (_, i) => (i * 7 + phase) % classes),
    "int32",
  );
}

/** Parameter values as plain arrays, for exact comparisons. */
export function snapshot(params: tf.Variable[]): number[][] {
  return params.map((p) => Array.from(p.dataSync()));
}

/**
 * Rank 1 of a two-process job, as far as Lite's rank-dependent behaviour can tell (print,
 * save, the loss trace). Stands in for a DDP rank until the DDP strategy exists; Lite accepts
 * Strategy instances as Fabric does.
 */
export class RankOneStrategy extends SingleDeviceStrategy {
  override get globalRank(): number {
    return 1;
  }
  override get localRank(): number {
    return 1;
  }
  override get worldSize(): number {
    return 2;
  }
}
