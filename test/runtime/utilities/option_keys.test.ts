// Options checked at run time (src/runtime/utilities/option_keys.ts): every public constructor
// that takes an options object rejects a key it does not know, naming the closest valid one, as
// Lightning raises on an unknown argument. Callers reach them from plain JavaScript, `as any` and
// config files, where TypeScript's excess-property check does not run.
import { describe, expect, it } from "vitest";
import {
  CSVLogger,
  EarlyStopping,
  LearningRateMonitor,
  LightningLite,
  MisconfigurationError,
  ModelCheckpoint,
  ModelSummary,
  SimpleProfiler,
  SummaryWriter,
  TensorBoardLogger,
  TQDMProgressBar,
  Trainer,
} from "../../../src/runtime/index";
import { checkOptionKeys, optionKeys } from "../../../src/runtime/utilities/option_keys";

class NoopLite extends LightningLite {
  run(): void {}
}

function messageOf(make: () => unknown): string {
  try {
    make();
  } catch (error) {
    expect(error).toBeInstanceOf(MisconfigurationError);
    return (error as Error).message;
  }
  throw new Error("no error thrown");
}

describe("checkOptionKeys", () => {
  const known = ["maxEpochs", "minEpochs", "maxSteps", "logger"];

  it("names the closest valid option for a typo", () => {
    expect(messageOf(() => checkOptionKeys({ maxEpoch: 2 }, known, "Trainer"))).toBe("unknown Trainer option `maxEpoch`; did you mean `maxEpochs`?");
    expect(messageOf(() => checkOptionKeys({ max_steps: 2 }, known, "Trainer"))).toBe("unknown Trainer option `max_steps`; did you mean `maxSteps`?");
  });

  it("lists the options when nothing is close, and says what replaced a removed Lightning flag", () => {
    expect(messageOf(() => checkOptionKeys({ banana: 1 }, known, "Trainer"))).toBe(
      "unknown Trainer option `banana`; the options are: maxEpochs, minEpochs, maxSteps, logger",
    );
    expect(messageOf(() => checkOptionKeys({ resumeFromCheckpoint: "x.ckpt" }, known, "Trainer"))).toBe(
      "unknown Trainer option `resumeFromCheckpoint`; it was removed from Lightning: use `trainer.fit(model, { ckptPath })`",
    );
  });

  it("accepts known keys and undefined; a non-object is a TypeError", () => {
    expect(() => checkOptionKeys({ maxEpochs: 1, logger: false }, known, "Trainer")).not.toThrow();
    expect(() => checkOptionKeys(undefined, known, "Trainer")).not.toThrow();
    expect(() => checkOptionKeys(null, known, "Trainer")).toThrow(TypeError);
    expect(() => checkOptionKeys(5, known, "Trainer")).toThrow("Trainer options must be an object, got 5");
    expect(() => checkOptionKeys([1], known, "Trainer")).toThrow(TypeError);
  });

  it("optionKeys: the list must name every key of the interface, and only those (a compile-time check)", () => {
    interface Opts {
      a?: number;
      b?: string;
    }
    expect(optionKeys<Opts>()(["a", "b"])).toEqual(["a", "b"]);
    // @ts-expect-error -- `b` is missing from the list
    optionKeys<Opts>()(["a"]);
    // @ts-expect-error -- `c` is not an option
    optionKeys<Opts>()(["a", "b", "c"]);
  });
});

describe("every public options constructor checks its keys", () => {
  const cases: [string, () => unknown, string][] = [
    ["Trainer", () => new Trainer({ maxEpoch: 2 } as never), "unknown Trainer option `maxEpoch`; did you mean `maxEpochs`?"],
    ["LightningLite", () => new NoopLite({ precison: "32-true" } as never), "unknown LightningLite option `precison`; did you mean `precision`?"],
    ["EarlyStopping", () => new EarlyStopping({ monitor: "val_loss", patince: 3 } as never), "unknown EarlyStopping option `patince`; did you mean `patience`?"],
    ["ModelCheckpoint", () => new ModelCheckpoint({ saveTopk: 2 } as never), "unknown ModelCheckpoint option `saveTopk`; did you mean `saveTopK`?"],
    ["LearningRateMonitor", () => new LearningRateMonitor({ loggingInterva: "step" } as never), "unknown LearningRateMonitor option `loggingInterva`; did you mean `loggingInterval`?"],
    ["ModelSummary", () => new ModelSummary({ maxDeph: 2 } as never), "unknown ModelSummary option `maxDeph`; did you mean `maxDepth`?"],
    ["TQDMProgressBar", () => new TQDMProgressBar({ refreshrate: 5 } as never), "unknown TQDMProgressBar option `refreshrate`; did you mean `refreshRate`?"],
    ["CSVLogger", () => new CSVLogger("logs", { nme: "x" } as never), "unknown CSVLogger option `nme`; did you mean `name`?"],
    ["TensorBoardLogger", () => new TensorBoardLogger("logs", { flushSec: 1 } as never), "unknown TensorBoardLogger option `flushSec`; did you mean `flushSecs`?"],
    ["SummaryWriter", () => new SummaryWriter("logs", { maxQue: 1 } as never), "unknown SummaryWriter option `maxQue`; did you mean `maxQueue`?"],
    ["SimpleProfiler", () => new SimpleProfiler({ extendet: true } as never), "unknown SimpleProfiler option `extendet`; did you mean `extended`?"],
  ];
  for (const [name, make, message] of cases) {
    it(name, () => expect(messageOf(make)).toBe(message));
  }

  it("their valid options still construct", () => {
    expect(() => new Trainer({ maxEpochs: 1, logger: false, enableProgressBar: false })).not.toThrow();
    expect(() => new TensorBoardLogger("logs", { name: "x", flushSecs: 1 })).not.toThrow();
  });
});
