import { describe, expect, it } from "vitest";

import { addPrefix, flattenDict, metricToNumber, sanitizeParams } from "../../../src/runtime/loggers/params";
import { tf } from "../../../src/torch/tf";

describe("logger parameter shaping", () => {
  it("reads scalar tensors as numbers and refuses anything else", () => {
    expect(metricToNumber("loss", tf.scalar(0.25))).toBe(0.25);
    expect(metricToNumber("acc", tf.tensor1d([0.5]))).toBe(0.5);
    expect(metricToNumber("n", 3)).toBe(3);
    expect(() => metricToNumber("vec", tf.tensor1d([1, 2]))).toThrow(/'vec' is a tensor of shape \[2\]/);
    expect(() => metricToNumber("s", "1")).toThrow(/'s' is a string/);
    expect(() => metricToNumber("o", null)).toThrow(/'o' is null/);
  });

  it("prefixes keys with '-' and leaves them alone without a prefix", () => {
    expect(addPrefix({ loss: 1, acc: 2 }, "train")).toEqual({ "train-loss": 1, "train-acc": 2 });
    expect(addPrefix({ loss: 1 }, "")).toEqual({ loss: 1 });
  });

  it("flattens nested plain objects with '/', leaving arrays and instances whole", () => {
    const when = new Date(0);
    expect(flattenDict({ a: { b: { c: 1 }, d: [1, { e: 2 }] }, f: when, g: 3 })).toEqual({
      "a/b/c": 1,
      "a/d": [1, { e: 2 }],
      f: when,
      g: 3,
    });
  });

  it("reduces values to what the HParams plugin can hold", () => {
    function relu() {}
    expect(
      sanitizeParams({
        n: 1,
        s: "x",
        b: false,
        t: tf.scalar(2),
        arr: [1, "a"],
        nil: null,
        fn: relu,
        big: 5n,
        u: undefined,
      }),
    ).toEqual({
      n: 1,
      s: "x",
      b: false,
      t: 2,
      arr: '[1,"a"]',
      nil: "null",
      fn: "relu",
      big: 5,
      u: "undefined",
    });
  });
});
