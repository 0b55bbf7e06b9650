import * as fs from "node:fs";
import * as path from "node:path";

import { afterEach, describe, expect, it, vi } from "vitest";

import { CSVLogger } from "../../../src/runtime/loggers/csv_logger";
import { rankZeroOnly } from "../../../src/runtime/utilities/rank_zero";
import { tempDir } from "./tmp_dirs";

/**
 * A reader written for the test, independent of the writer: splits CRLF rows, then fields on
 * commas outside double quotes, undoubling quotes inside them.
 */
function readCsv(file: string): { lines: string[]; header: string[]; rows: Array<Record<string, string>> } {
  const text = fs.readFileSync(file, "utf8");
  expect(text.endsWith("\r\n")).toBe(true);
  const lines = text.slice(0, -2).split("\r\n");
  const split = (line: string) => {
    const out: string[] = [];
    let cur = "";
    let quoted = false;
    for (let i = 0; i < line.length; i++) {
      const c = line[i];
      if (quoted && c === '"' && line[i + 1] === '"') {
        cur += '"';
        i++;
      } else if (c === '"') quoted = !quoted;
      else if (c === "," && !quoted) {
        out.push(cur);
        cur = "";
      } else cur += c;
    }
    out.push(cur);
    return out;
  };
  const [header, ...body] = lines.map(split);
  for (const row of body) expect(row.length).toBe(header.length);
  return { lines, header, rows: body.map((cells) => Object.fromEntries(header.map((h, i) => [h, cells[i]]))) };
}

afterEach(() => {
  rankZeroOnly.rank = undefined;
  vi.restoreAllMocks();
});

describe("CSVLogger", () => {
  it("writes metrics.csv like Lightning: sorted union header, step column, empty cells, CRLF", () => {
    const saveDir = tempDir();
    const logger = new CSVLogger(saveDir, { flushLogsEveryNSteps: 2 });
    expect(logger.logDir).toBe(path.join(saveDir, "lightning_logs", "version_0"));
    const file = path.join(logger.logDir, "metrics.csv");

    logger.logMetrics({ loss: 0.5, acc: 0.25 }, 0);
    expect(fs.existsSync(file)).toBe(false); // buffered until (step + 1) % 2 == 0
    logger.logMetrics({ loss: 0.25 }, 1);
    expect(fs.readFileSync(file, "utf8")).toBe("acc,loss,step\r\n0.25,0.5,0\r\n,0.25,1\r\n");

    // New keys after the first flush: the whole file is rewritten under the wider header.
    logger.logMetrics({ loss: 0.125, val_loss: 1e-5 }, 2);
    logger.logMetrics({ "lr-Adam": 0.001, epoch: 0 }, 3);
    logger.logMetrics({ loss: 1 / 3, epoch: 1 }, 4);
    logger.finalize("success");

    const { lines, header, rows } = readCsv(file);
    expect(header).toEqual(["acc", "epoch", "loss", "lr-Adam", "step", "val_loss"]);
    expect(lines).toEqual([
      "acc,epoch,loss,lr-Adam,step,val_loss",
      "0.25,,0.5,,0,",
      ",,0.25,,1,",
      ",,0.125,,2,1e-05",
      ",0,,0.001,3,",
      ",1,0.3333333333333333,,4,",
    ]);
    expect(rows.map((r) => Number(r.step))).toEqual([0, 1, 2, 3, 4]);
    expect(rows.map((r) => r.loss)).toEqual(["0.5", "0.25", "0.125", "", "0.3333333333333333"]);
    expect(Number(rows[4].loss)).toBe(1 / 3); // shortest round-trip digits, nothing lost
  });

  it("numbers step-less rows consecutively across flushes and applies the prefix", () => {
    const logger = new CSVLogger(tempDir(), { prefix: "train", flushLogsEveryNSteps: 2 });
    for (let i = 0; i < 5; i++) logger.logMetrics({ loss: i });
    logger.save();
    const { header, rows } = readCsv(path.join(logger.logDir, "metrics.csv"));
    expect(header).toEqual(["step", "train-loss"]);
    expect(rows).toEqual([0, 1, 2, 3, 4].map((i) => ({ step: String(i), "train-loss": String(i) })));
  });

  it("quotes header cells and spells special floats as Python's csv module does", () => {
    const logger = new CSVLogger(tempDir());
    logger.logMetrics({ "a,b": 1.5, 'say "hi"': Number.NaN, big: 1e300, tiny: -Infinity }, 7);
    logger.save();
    expect(fs.readFileSync(path.join(logger.logDir, "metrics.csv"), "utf8")).toBe(
      '"a,b",big,"say ""hi""",step,tiny\r\n1.5,1e+300,nan,7,-inf\r\n',
    );
  });

  it("keeps quoted columns intact when a new key forces a rewrite", () => {
    const logger = new CSVLogger(tempDir(), { flushLogsEveryNSteps: 1 });
    logger.logMetrics({ "top,1": 0.5 }, 0);
    logger.logMetrics({ "top,1": 0.75, a: 2 }, 1);
    expect(fs.readFileSync(path.join(logger.logDir, "metrics.csv"), "utf8")).toBe(
      'a,step,"top,1"\r\n,0,0.5\r\n2,1,0.75\r\n',
    );
    expect(fs.readdirSync(logger.logDir)).toEqual(["metrics.csv"]); // no temporary file left
  });

  it("picks the version after the largest existing version_N directory", () => {
    const saveDir = tempDir();
    const root = path.join(saveDir, "lightning_logs");
    for (const d of ["version_0", "version_3", "version_x", "other"])
      fs.mkdirSync(path.join(root, d), { recursive: true });
    fs.writeFileSync(path.join(root, "version_9"), "a file, not a run");

    const logger = new CSVLogger(saveDir);
    expect(logger.version).toBe(4);
    expect(logger.rootDir).toBe(root);
    logger.logMetrics({ x: 1 }, 0);
    logger.finalize("success");
    expect(fs.existsSync(path.join(root, "version_4", "metrics.csv"))).toBe(true);
    // The next logger sees version_4 and moves on.
    expect(new CSVLogger(saveDir).version).toBe(5);
  });

  it("uses a given version: a number as version_N, a string verbatim; name null skips the experiment folder", () => {
    const saveDir = tempDir();
    expect(new CSVLogger(saveDir, { version: 7 }).logDir).toBe(path.join(saveDir, "lightning_logs", "version_7"));
    expect(new CSVLogger(saveDir, { name: "mnist", version: "final" }).logDir).toBe(
      path.join(saveDir, "mnist", "final"),
    );
    const bare = new CSVLogger(saveDir, { name: null });
    expect(bare.name).toBe("");
    expect(bare.logDir).toBe(path.join(saveDir, "version_0"));
    expect(() => new CSVLogger(saveDir, { version: -1 })).toThrow(/non-negative/);
  });

  it("writes hparams.yaml in the version directory, merging successive calls", () => {
    const logger = new CSVLogger(tempDir());
    logger.logHyperparams({ lr: 0.001, layers: [64, 32], optimizer: "Adam" });
    logger.logHyperparams({ batch_size: 32, optimizer: "SGD" });
    expect(fs.readFileSync(path.join(logger.logDir, "hparams.yaml"), "utf8")).toBe(
      "batch_size: 32\nlayers:\n- 64\n- 32\nlr: 0.001\noptimizer: SGD\n",
    );
  });

  it("replaces the metrics.csv of an earlier run given the same explicit version, with a warning", () => {
    const saveDir = tempDir();
    const first = new CSVLogger(saveDir, { version: 0 });
    first.logMetrics({ old: 1 }, 0);
    first.finalize("success");

    const warn = vi.spyOn(console, "warn").mockImplementation(() => {});
    const second = new CSVLogger(saveDir, { version: 0 });
    second.logMetrics({ fresh: 2 }, 0);
    second.finalize("success");
    expect(warn.mock.calls.flat().join(" ")).toMatch(/exists and is not empty/);
    expect(fs.readFileSync(path.join(second.logDir, "metrics.csv"), "utf8")).toBe("fresh,step\r\n2,0\r\n");
  });

  it("refuses values that are not numbers, naming the metric", () => {
    const logger = new CSVLogger(tempDir());
    expect(() => logger.logMetrics({ loss: "high" as unknown as number }, 0)).toThrow(/'loss'/);
  });

  it("writes nothing on ranks other than 0", () => {
    const saveDir = tempDir();
    rankZeroOnly.rank = 1;
    const logger = new CSVLogger(saveDir);
    logger.logHyperparams({ lr: 1 });
    logger.logMetrics({ loss: 1 }, 99);
    logger.experiment.save(); // the stand-in swallows direct calls too
    logger.save();
    logger.finalize("success");
    expect(fs.readdirSync(saveDir)).toEqual([]);
  });

  it("creates nothing when finalized without having logged", () => {
    const saveDir = tempDir();
    new CSVLogger(saveDir).finalize("success");
    expect(fs.readdirSync(saveDir)).toEqual([]);
  });
});
