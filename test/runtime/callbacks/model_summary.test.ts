/**
 * ModelSummary: parameter counts of known models (worked out by hand below), Lightning's
 * number formatting and table layout, depth, frozen parameters, modes, example-input shapes,
 * and the callback printing the table when fit starts.
 */
import { describe, it, expect, beforeAll, afterEach, vi } from "vitest";
import { ModelSummary, summarize, getHumanReadableCount } from "../../../src/runtime/callbacks/index";
import { usePureJsCpu, Tiny, Trainer, quietOptions, manualSeed, nn, tf, LightningModule } from "./helpers";

beforeAll(usePureJsCpu);

/** Lightning's documentation example: Linear(256, 512) + BatchNorm1d(512). */
class DocModel extends LightningModule {
  net = new nn.Sequential(new nn.Linear(256, 512), new nn.BatchNorm1d(512));
  exampleInputArray: tf.Tensor | null = null;
  override forward(x: tf.Tensor): tf.Tensor {
    return this.net.forward(x) as tf.Tensor;
  }
}

/** fc1: 10·20 + 20 = 220; act: 0; fc2: 20·5 + 5 = 105; scale (the root's own): 3. Total 328. */
class Small extends LightningModule {
  fc1 = new nn.Linear(10, 20);
  act = new nn.ReLU();
  fc2 = new nn.Linear(20, 5);
  scale = tf.variable(tf.ones([3]));
}

describe("getHumanReadableCount", () => {
  it.each([
    [0, "0  "],
    [123, "123  "],
    [999, "999  "],
    [1000, "1.0 K"],
    [1234, "1.2 K"],
    [1250, "1.2 K"],
    [1999, "2.0 K"],
    [99999, "100.0 K"],
    [100000, "100 K"],
    [101000, "101 K"],
    [999999, "999 K"],
    [1200000, "1.2 M"],
    [3e9, "3.0 B"],
    [4e14, "400 T"],
    [5e15, "5,000 T"],
  ])("%d → %j (as Lightning's get_human_readable_count)", (n, s) => {
    expect(getHumanReadableCount(n)).toBe(s);
  });
});

describe("summarize", () => {
  it("reproduces Lightning's documented table", () => {
    // Linear 256·512 + 512 = 131,584; BatchNorm1d weight + bias = 1,024 (running stats are buffers).
    const s = summarize(new DocModel());
    expect(s.totalParameters).toBe(132608);
    expect(s.trainableParameters).toBe(132608);
    expect(s.paramNums).toEqual([132608]);
    expect(s.toString()).toBe(
      [
        "  | Name | Type       | Params | Mode ",
        "--------------------------------------------",
        "0 | net  | Sequential | 132 K  | train",
        "--------------------------------------------",
        "132 K     Trainable params",
        "0         Non-trainable params",
        "132 K     Total params",
        "0.530     Total estimated model params size (MB)",
        "3         Modules in train mode",
        "0         Modules in eval mode",
      ].join("\n"),
    );
  });

  it("lists deeper levels with maxDepth, and every level with -1", () => {
    const s = summarize(new DocModel(), 2);
    expect(s.layerNames).toEqual(["net", "net.0", "net.1"]);
    expect(s.layerTypes).toEqual(["Sequential", "Linear", "BatchNorm1d"]);
    expect(s.paramNums).toEqual([132608, 131584, 1024]);
    expect(s.toString().split("\n").slice(0, 5)).toEqual([
      "  | Name  | Type        | Params | Mode ",
      // Lightning's rule: the column widths (1 + 5 + 11 + 6 + 5) plus 3 per column and one more: 46.
      "-".repeat(46),
      "0 | net   | Sequential  | 132 K  | train",
      "1 | net.0 | Linear      | 131 K  | train",
      "2 | net.1 | BatchNorm1d | 1.0 K  | train",
    ]);
    expect(summarize(new DocModel(), -1).layerNames).toEqual(["net", "net.0", "net.1"]);
    expect(summarize(new DocModel(), 0).layerNames).toEqual([]);
    expect(() => summarize(new DocModel(), -2)).toThrow("`maxDepth` can be -1, 0 or > 0, got -2.");
  });

  it("counts frozen parameters, the root's own parameters and modules in eval mode", () => {
    const m = new Small();
    m.fc2.requiresGrad_(false);
    m.act.eval();
    const s = summarize(m);
    expect(s.paramNums).toEqual([220, 0, 105]);
    expect(s.totalParameters).toBe(328);
    expect(s.trainableParameters).toBe(223);
    expect(s.totalTrainingModes).toEqual({ train: 2, eval: 1 });
    expect(s.toString()).toBe(
      [
        "  | Name         | Type   | Params | Mode ",
        "-".repeat(48),
        "0 | fc1          | Linear | 220    | train",
        "1 | act          | ReLU   | 0      | eval ",
        "2 | fc2          | Linear | 105    | train",
        "  | other params | n/a    | 3      | n/a  ",
        "-".repeat(48),
        "223       Trainable params",
        "105       Non-trainable params",
        "328       Total params",
        "0.001     Total estimated model params size (MB)",
        "2         Modules in train mode",
        "1         Modules in eval mode",
      ].join("\n"),
    );
  });

  it("estimates the size at the Trainer's precision", () => {
    expect(summarize(new DocModel(), 1, { precision: "16-true" }).modelSize).toBeCloseTo(0.265216, 9);
    expect(summarize(new DocModel(), 1, { precision: "16-mixed" }).modelSize).toBeCloseTo(0.530432, 9);
  });

  it("adds input and output sizes from exampleInputArray, leaving modes as they were", () => {
    const m = new DocModel();
    m.exampleInputArray = tf.zeros([10, 256]);
    const s = summarize(m, 2);
    expect(s.inSizes).toEqual([[10, 256], [10, 256], [10, 512]]);
    expect(s.outSizes).toEqual([[10, 512], [10, 512], [10, 512]]);
    expect(m.training && m.net.training).toBe(true);
    expect(Object.keys(m.net)).not.toContain("forward");
    expect(s.toString().split("\n")[2]).toBe("0 | net   | Sequential  | 132 K  | train | [10, 256] | [10, 512]");
  });
});

describe("ModelSummary callback", () => {
  const prevLevel = process.env.LIGHTNING_TS_LOG_LEVEL;
  afterEach(() => {
    process.env.LIGHTNING_TS_LOG_LEVEL = prevLevel;
    vi.restoreAllMocks();
  });

  it("prints the table when fit starts", async () => {
    process.env.LIGHTNING_TS_LOG_LEVEL = "info";
    const log = vi.spyOn(console, "log").mockImplementation(() => {});
    manualSeed(0);
    await new Trainer(quietOptions({ maxEpochs: 1, callbacks: [new ModelSummary({ maxDepth: 2 })] })).fit(new Tiny());
    const printed = log.mock.calls.map((c) => String(c[0])).find((s) => s.includes("Trainable params"));
    // Tiny: model.fc1 4·8 + 8 = 40, model.fc2 8·3 + 3 = 27: 67 in all.
    expect(printed).toBe(
      "\n" +
        [
          "  | Name      | Type   | Params | Mode ",
          "-".repeat(45),
          "0 | model     | Mlp    | 67     | train",
          "1 | model.fc1 | Linear | 40     | train",
          "2 | model.fc2 | Linear | 27     | train",
          "-".repeat(45),
          "67        Trainable params",
          "0         Non-trainable params",
          "67        Total params",
          "0.000     Total estimated model params size (MB)",
          "3         Modules in train mode",
          "0         Modules in eval mode",
        ].join("\n"),
    );
  });

  it("is the Trainer's default (enableModelSummary) and prints nothing with maxDepth 0", async () => {
    expect(new Trainer({ logger: false, enableProgressBar: false }).callbacks.some((c) => c instanceof ModelSummary)).toBe(true);
    expect(new Trainer({ logger: false, enableModelSummary: false }).callbacks.some((c) => c instanceof ModelSummary)).toBe(false);
    process.env.LIGHTNING_TS_LOG_LEVEL = "info";
    const log = vi.spyOn(console, "log").mockImplementation(() => {});
    manualSeed(0);
    await new Trainer(quietOptions({ maxEpochs: 1, callbacks: [new ModelSummary({ maxDepth: 0 })] })).fit(new Tiny());
    expect(log.mock.calls.some((c) => String(c[0]).includes("Trainable params"))).toBe(false);
  });
});
