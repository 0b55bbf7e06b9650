import { tf } from "lightning-ts/torch";

/** Max |a-b| / max(|b|, tiny) over all elements. */
export function maxRelErr(a: tf.Tensor, b: tf.Tensor): number {
  const x = a.dataSync();
  const y = b.dataSync();
  expectSameLength(x.length, y.length);
  let worst = 0;
  for (let i = 0; i < x.length; i++) {
    const denom = Math.max(Math.abs(y[i]), 1e-6);
    worst = Math.max(worst, Math.abs(x[i] - y[i]) / denom);
  }
  return worst;
}

function expectSameLength(a: number, b: number): void {
  if (a !== b) throw new Error(`length mismatch ${a} vs ${b}`);
}

/** A deterministic tensor with values spread over [-1, 1]. */
export function spread(shape: number[], phase = 0): tf.Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  const v = new Float32Array(n);
  for (let i = 0; i < n; i++) v[i] = Math.sin(1.7 * i + phase);
  return tf.tensor(v, shape);
}
