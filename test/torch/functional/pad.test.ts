import { describe, it } from "vitest";
import { tf, F } from "lightning-ts/torch";
import { checkGrads, expectClose, spread, spreadVar } from "../nn/helpers";

describe("F.pad gradients", () => {
  it("reflect: the reflected borders send their gradient back to the mirrored elements", () => {
    // [1, 2, 3, 4] padded (2, 1) reflect is [3, 2, 1, 2, 3, 4, 3]; weights 10^k pick out each position.
    const x = tf.variable(tf.tensor([[1, 2, 3, 4]]), true);
    const r = tf.tensor([[1, 10, 100, 1000, 10000, 100000, 1000000]]);
    expectClose(F.pad(x, [2, 1], { mode: "reflect" }), [3, 2, 1, 2, 3, 4, 3], 0);
    const [g] = checkGrads(() => tf.sum(tf.mul(F.pad(x, [2, 1], { mode: "reflect" }), r)), [x]);
    expectClose(g, [100, 10 + 1000, 1 + 10000 + 1000000, 100000], 1e-6);
  });

  it("reflect / replicate / circular on the last two dims: gradients equal tf.variableGrads", () => {
    const x = spreadVar([2, 3, 4, 5]);
    for (const mode of ["reflect", "replicate", "circular"] as const) {
      const r = spread([2, 3, 4 + 3, 5 + 3], 0.4);
      checkGrads(() => tf.sum(tf.mul(F.pad(x, [1, 2, 2, 1], { mode }), r)), [x]);
    }
    // replicate: element 0 of a row gets its own weight plus the left pad's.
    const y = tf.variable(tf.tensor([[1, 2, 3]]), true);
    const [g] = checkGrads(
      () => tf.sum(tf.mul(F.pad(y, [2, 1], { mode: "replicate" }), tf.tensor([[1, 2, 4, 8, 16, 32]]))),
      [y],
    );
    expectClose(g, [1 + 2 + 4, 8, 16 + 32], 0);
  });
});
