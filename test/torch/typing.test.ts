/**
 * Type-level checks (tsc checks this file with the rest of test/; `@ts-expect-error` lines
 * must fail to compile) plus the runtime behaviour of the same calls.
 */
import { describe, it, expect } from "vitest";
import { tf, nn, data } from "lightning-ts/torch";

/** A training helper annotated the way PyTorch scripts annotate it: a bare DataLoader. */
function sumOfBatches(loader: data.DataLoader): number {
  let total = 0;
  for (const batch of loader) {
    const [x, y] = batch;
    const xs: tf.Tensor = x;
    const ys: tf.Tensor = y;
    total += tf.sum(xs).dataSync()[0] + tf.sum(ys).dataSync()[0];
  }
  return total;
}

async function countAsync(loader: data.DataLoader): Promise<number> {
  let n = 0;
  for await (const [x] of loader) n += x.shape[0];
  return n;
}

// Compile-time only: never called.
function typeChecks(): void {
  // An object-batch loader needs its item type spelled out.
  const objects = new data.DataLoader([{ a: tf.zeros([1]) }] as unknown as data.Dataset<{ a: tf.Tensor }>);
  const typed: data.DataLoader<{ a: tf.Tensor }> = objects;
  for (const b of typed) b.a.shape;
  // A bare DataLoader's batches are tensor lists, not objects (nor `unknown`).
  const bare = objects as unknown as data.DataLoader;
  for (const b of bare) {
    b[0].shape;
    // @ts-expect-error: property 'a' does not exist on tf.Tensor[]
    b.a;
  }
  // @ts-expect-error: LeakyReLU's inplace is a boolean
  new nn.LeakyReLU(0.2, { inplace: "yes" });
  // @ts-expect-error: GELU has no inplace in PyTorch either
  new nn.GELU({ inplace: true });
  // @ts-expect-error: a device is a name, an ordinal or a Device
  tf.zeros([1]).to({ cuda: 0 });
}
void typeChecks;

describe("typing papercuts", () => {
  it("activations accept PyTorch's inplace (ignored: tfjs has no in-place ops)", () => {
    const x = tf.tensor1d([-2, 0, 3]);
    const lrelu = new nn.LeakyReLU(0.2, { inplace: true });
    expect(Array.from(lrelu.forward(x).dataSync())).toEqual([-2 * 0.2, 0, 3].map(Math.fround));
    expect(Array.from(x.dataSync())).toEqual([-2, 0, 3]); // the input is untouched
    expect(lrelu.toString()).toBe("LeakyReLU(negative_slope=0.2, inplace=True)");
    expect(new nn.LeakyReLU(0.2, true).inplace).toBe(true);
    expect(new nn.LeakyReLU({ negativeSlope: 0.1, inplace: true }).inplace).toBe(true);
    expect(new nn.LeakyReLU().toString()).toBe("LeakyReLU(negative_slope=0.01)");
    expect(new nn.ReLU({ inplace: true }).toString()).toBe("ReLU(inplace=True)");
    expect(new nn.ReLU(true).inplace).toBe(true);
    expect(new nn.ReLU().toString()).toBe("ReLU()");
    expect(new nn.ReLU6({ inplace: true }).inplace).toBe(true);
    expect(new nn.SELU({ inplace: true }).inplace).toBe(true);
    expect(new nn.SiLU(true).inplace).toBe(true);
    const elu = new nn.ELU(0.5, { inplace: true });
    expect(elu.toString()).toBe("ELU(alpha=0.5, inplace=True)");
    expect(Array.from(elu.forward(tf.tensor1d([-1])).dataSync())[0]).toBeCloseTo(0.5 * Math.expm1(-1), 6);
    expect(new nn.Dropout(0.1, { inplace: true }).p).toBe(0.1);
    expect(new nn.Dropout2d(0.2, true).p).toBe(0.2);
  });

  it("a bare data.DataLoader parameter takes a typed loader and yields tensor batches", async () => {
    const ds = new data.TensorDataset(tf.tensor2d([[1], [2], [3], [4]]), tf.tensor1d([10, 20, 30, 40]));
    const loader = new data.DataLoader(ds, { batchSize: 2 });
    expect(sumOfBatches(loader)).toBe(110);
    expect(await countAsync(loader)).toBe(4);
  });
});
