import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

import { afterEach, describe, expect, it } from "vitest";

import { rankZeroOnly } from "../../../src/runtime/utilities/rank_zero";
import { TensorBoardLogger } from "../../../src/runtime/loggers/tensorboard_logger";
import { decodeHParamsPluginData, readEventFile, type DecodedEvent } from "./independent_tfevents_reader";
import { tempDir } from "./tmp_dirs";

const EVENT_FILE = /^events\.out\.tfevents\.(\d{10})\.(.+)\.(\d+)\.(\d+)$/;

function eventFiles(dir: string): string[] {
  return fs
    .readdirSync(dir)
    .filter((f) => f.startsWith("events.out.tfevents."))
    .sort()
    .map((f) => path.join(dir, f));
}

function onlyEventFile(dir: string): string {
  const files = eventFiles(dir);
  expect(files).toHaveLength(1);
  return files[0];
}

/** The scalar points of a file, in order, as TensorBoard's scalar dashboard would plot them. */
function scalars(events: DecodedEvent[]) {
  return events.flatMap((e) =>
    (e.values ?? [])
      .filter((v) => v.simpleValue !== undefined)
      .map((v) => ({ tag: v.tag, step: e.step, value: v.simpleValue })),
  );
}

afterEach(() => {
  rankZeroOnly.rank = undefined;
});

describe("TensorBoardLogger", () => {
  it("writes an event file that an independent reader accepts: version record, then scalars", () => {
    const saveDir = tempDir();
    fs.mkdirSync(path.join(saveDir, "lightning_logs", "version_0"), { recursive: true });
    fs.mkdirSync(path.join(saveDir, "lightning_logs", "version_3"), { recursive: true });

    const before = Date.now() / 1000;
    const logger = new TensorBoardLogger(saveDir);
    expect(logger.version).toBe(4);
    expect(logger.logDir).toBe(path.join(saveDir, "lightning_logs", "version_4"));
    logger.logMetrics({ train_loss: 0.75 }, 0);
    logger.logMetrics({ train_loss: 0.5, lr: 1e-3 }, 10);
    logger.logMetrics({ train_loss: 0.1, val_acc: 0.9, epoch: 1 }, 20);
    logger.logMetrics({ train_loss: Number.NaN }, 2 ** 40);
    logger.finalize("success");
    const after = Date.now() / 1000;

    const file = onlyEventFile(logger.logDir);
    const [, seconds, host, pid] = EVENT_FILE.exec(path.basename(file))!;
    expect(Number(seconds)).toBeGreaterThanOrEqual(Math.floor(before));
    expect(Number(seconds)).toBeLessThanOrEqual(after);
    expect(host).toBe(os.hostname());
    expect(Number(pid)).toBe(process.pid);

    const events = readEventFile(file);
    expect(events[0]).toMatchObject({ fileVersion: "brain.Event:2", step: 0n, sourceWriter: "lightning-ts" });
    expect(events[0].values).toBeUndefined();
    for (const e of events) {
      expect(e.wallTime).toBeGreaterThanOrEqual(before - 0.001);
      expect(e.wallTime).toBeLessThanOrEqual(after + 0.001);
    }
    // simple_value is a float32 on the wire.
    expect(scalars(events.slice(1))).toEqual([
      { tag: "train_loss", step: 0n, value: 0.75 },
      { tag: "train_loss", step: 10n, value: 0.5 },
      { tag: "lr", step: 10n, value: Math.fround(1e-3) },
      { tag: "train_loss", step: 20n, value: Math.fround(0.1) },
      { tag: "val_acc", step: 20n, value: Math.fround(0.9) },
      { tag: "epoch", step: 20n, value: 1 },
      { tag: "train_loss", step: 2n ** 40n, value: Number.NaN },
    ]);
    // Lightning leaves an hparams.yaml after a successful run, empty if none were logged.
    expect(fs.readFileSync(path.join(logger.logDir, "hparams.yaml"), "utf8")).toBe("{}\n");
  });

  it("logs hyperparameters to hparams.yaml and to the HParams dashboard with a default hp_metric", () => {
    const logger = new TensorBoardLogger(tempDir(), { name: "mnist" });
    logger.logHyperparams({
      lr: 0.001,
      model: { hidden: 128, act: "relu" },
      use_bn: true,
      layers: [64, 32],
      seed: null,
    });
    logger.logMetrics({ hp_metric: 0.93 }, 100);
    logger.finalize("success");

    expect(fs.readFileSync(path.join(logger.logDir, "hparams.yaml"), "utf8")).toBe(
      "layers:\n- 64\n- 32\nlr: 0.001\nmodel:\n  act: relu\n  hidden: 128\nseed: null\nuse_bn: true\n",
    );

    const events = readEventFile(onlyEventFile(logger.logDir)).slice(1);
    expect(scalars(events)).toEqual([
      { tag: "hp_metric", step: 0n, value: -1 },
      { tag: "hp_metric", step: 100n, value: Math.fround(0.93) },
    ]);

    const plugin = events.flatMap((e) => e.values ?? []).filter((v) => v.pluginName !== undefined);
    expect(plugin.map((v) => [v.tag, v.pluginName, v.simpleValue])).toEqual([
      ["_hparams_/experiment", "hparams", undefined],
      ["_hparams_/session_start_info", "hparams", undefined],
      ["_hparams_/session_end_info", "hparams", undefined],
    ]);
    const [experiment, start, end] = plugin.map((v) => decodeHParamsPluginData(v.pluginContent!));
    for (const data of [experiment, start, end]) expect(data.version).toBe(0n);
    // DataType: 1 string, 2 bool, 3 float64. Nested keys are flattened with "/"; values that
    // are not scalars are shown as text.
    expect(experiment.experiment).toEqual({
      hparamInfos: [
        { name: "lr", type: 3 },
        { name: "model/hidden", type: 3 },
        { name: "model/act", type: 1 },
        { name: "use_bn", type: 2 },
        { name: "layers", type: 1 },
        { name: "seed", type: 1 },
      ],
      metricTags: ["hp_metric"],
    });
    expect(start.sessionStartHparams).toEqual({
      lr: 0.001,
      "model/hidden": 128,
      "model/act": "relu",
      use_bn: true,
      layers: "[64,32]",
      seed: "null",
    });
    expect(end.sessionEndStatus).toBe(1); // STATUS_SUCCESS
  });

  it("tracks the given metrics instead of hp_metric, and logs no dashboard data without any", () => {
    const withMetrics = new TensorBoardLogger(tempDir());
    withMetrics.logHyperparams({ lr: 0.1 }, { "val/acc": 0.5 });
    withMetrics.finalize("success");
    const events = readEventFile(onlyEventFile(withMetrics.logDir));
    expect(scalars(events)).toEqual([{ tag: "val/acc", step: 0n, value: 0.5 }]);
    const experimentValue = events.flatMap((e) => e.values ?? []).find((v) => v.tag === "_hparams_/experiment")!;
    expect(decodeHParamsPluginData(experimentValue.pluginContent!).experiment?.metricTags).toEqual(["val/acc"]);

    const bare = new TensorBoardLogger(tempDir(), { defaultHpMetric: false });
    bare.logHyperparams({ lr: 0.1 });
    bare.finalize("success");
    expect(eventFiles(bare.logDir)).toEqual([]); // nothing was ever logged to TensorBoard
    expect(fs.readFileSync(path.join(bare.logDir, "hparams.yaml"), "utf8")).toBe("lr: 0.1\n");
  });

  it("keeps events in memory until maxQueue are pending or save() is called", () => {
    const logger = new TensorBoardLogger(tempDir(), { maxQueue: 3 });
    logger.logMetrics({ a: 1 }, 1);
    const file = onlyEventFile(logger.logDir);
    expect(readEventFile(file)).toHaveLength(1);
    logger.logMetrics({ b: 2, c: 3 }, 2); // third pending event: written
    expect(readEventFile(file)).toHaveLength(4);
    logger.logMetrics({ d: 4 }, 3);
    expect(readEventFile(file)).toHaveLength(4);
    logger.save();
    expect(scalars(readEventFile(file)).map((s) => s.tag)).toEqual(["a", "b", "c", "d"]);
    logger.finalize("success");
  });

  it("starts a second event file when used again after finalize (fit, then test)", () => {
    const logger = new TensorBoardLogger(tempDir());
    logger.logMetrics({ train_loss: 1 }, 5);
    logger.finalize("success");
    logger.logMetrics({ test_acc: 0.5 }, 6);
    logger.finalize("success");
    const files = eventFiles(logger.logDir);
    expect(files).toHaveLength(2);
    expect(files.map((f) => scalars(readEventFile(f)).map((s) => s.tag))).toEqual([["train_loss"], ["test_acc"]]);
    const uids = files.map((f) => Number(EVENT_FILE.exec(path.basename(f))![4]));
    expect(new Set(uids).size).toBe(2);
  });

  it("applies the prefix and writes into subDir", () => {
    const logger = new TensorBoardLogger(tempDir(), { prefix: "fold1", subDir: "train", version: "run-a" });
    expect(logger.logDir).toBe(path.join(logger.saveDir, "lightning_logs", "run-a", "train"));
    logger.logMetrics({ loss: 2 }, 1);
    logger.finalize("success");
    expect(scalars(readEventFile(onlyEventFile(logger.logDir)))).toEqual([{ tag: "fold1-loss", step: 1n, value: 2 }]);
  });

  it("refuses values that are not numbers, naming the metric", () => {
    const logger = new TensorBoardLogger(tempDir());
    expect(() => logger.logMetrics({ acc: [0.5] as unknown as number }, 0)).toThrow(/'acc'/);
    logger.finalize("failed");
  });

  it("writes nothing on ranks other than 0", () => {
    const saveDir = tempDir();
    rankZeroOnly.rank = 2;
    const logger = new TensorBoardLogger(saveDir);
    logger.logHyperparams({ lr: 1 });
    logger.logMetrics({ loss: 1 }, 1);
    logger.experiment.addScalar("direct", 1, 1);
    logger.save();
    logger.finalize("success");
    expect(fs.readdirSync(saveDir)).toEqual([]);
  });

  it("flushes pending events when the process exits without finalize()", () => {
    const saveDir = tempDir();
    const script = path.join(saveDir, "crash.ts");
    const loggerModule = path.resolve(__dirname, "../../../src/runtime/loggers/tensorboard_logger.ts");
    fs.writeFileSync(
      script,
      [
        `import { TensorBoardLogger } from ${JSON.stringify(loggerModule)};`,
        `const logger = new TensorBoardLogger(${JSON.stringify(saveDir)});`,
        `for (let step = 0; step < 3; step++) logger.logMetrics({ loss: 1 / (step + 1) }, step);`,
        `process.exitCode = 3;`,
      ].join("\n"),
    );
    const child = spawnSync(process.execPath, ["--import", "tsx", script], {
      encoding: "utf8",
      cwd: path.resolve(__dirname, "../../.."),
    });
    expect(child.status, child.stderr).toBe(3);
    const logDir = path.join(saveDir, "lightning_logs", "version_0");
    expect(scalars(readEventFile(onlyEventFile(logDir)))).toEqual([
      { tag: "loss", step: 0n, value: 1 },
      { tag: "loss", step: 1n, value: 0.5 },
      { tag: "loss", step: 2n, value: Math.fround(1 / 3) },
    ]);
  });
});
