/**
 * The package root (`lightning-ts`): every public class SPEC §3/§4 names is exported, as the
 * very object its module defines (so `instanceof` works across import paths), and the export
 * list has one path per name — each area with an `index.ts` is re-exported through it, in one
 * statement (a second block for the same area is how duplicated or diverging exports creep in).
 */
import { describe, it, expect } from "vitest";
import * as fs from "node:fs";
import * as path from "node:path";
import * as lt from "lightning-ts";
import { LightningLite } from "../../src/runtime/lite/lightning_lite";
import { LightningModule } from "../../src/runtime/core/module";
import { LightningDataModule } from "../../src/runtime/core/datamodule";
import { Trainer } from "../../src/runtime/trainer/trainer";
import { Callback } from "../../src/runtime/callbacks/callback";
import { ModelCheckpoint } from "../../src/runtime/callbacks/model_checkpoint";
import { EarlyStopping } from "../../src/runtime/callbacks/early_stopping";
import { LearningRateMonitor } from "../../src/runtime/callbacks/lr_monitor";
import { ModelSummary } from "../../src/runtime/callbacks/model_summary";
import { ProgressBar } from "../../src/runtime/callbacks/progress/progress_bar";
import { TQDMProgressBar } from "../../src/runtime/callbacks/progress/tqdm_progress";
import { CSVLogger } from "../../src/runtime/loggers/csv_logger";
import { TensorBoardLogger } from "../../src/runtime/loggers/tensorboard_logger";
import { SimpleProfiler } from "../../src/runtime/profilers/simple";
import { seedEverything } from "../../src/runtime/utilities/seed";

const RUNTIME = path.join(__dirname, "..", "..", "src", "runtime");

describe("lightning-ts exports", () => {
  it("exports every public class SPEC §3/§4 names, as defined in its module", () => {
    const expected: Record<string, unknown> = {
      LightningLite,
      LightningModule,
      LightningDataModule,
      Trainer,
      Callback,
      ModelCheckpoint,
      EarlyStopping,
      LearningRateMonitor,
      ModelSummary,
      ProgressBar,
      TQDMProgressBar,
      CSVLogger,
      TensorBoardLogger,
      SimpleProfiler,
      seedEverything,
    };
    for (const [name, value] of Object.entries(expected)) {
      expect(typeof value, name).toBe("function");
      expect((lt as Record<string, unknown>)[name], name).toBe(value);
    }
    expect(new lt.TQDMProgressBar()).toBeInstanceOf(lt.ProgressBar);
    expect(new lt.ModelCheckpoint()).toBeInstanceOf(lt.Callback);
  });

  it("re-exports each area with an index.ts through it, once, and lists no name twice", () => {
    const source = fs.readFileSync(path.join(RUNTIME, "index.ts"), "utf8");
    const statements = [...source.matchAll(/export\s+(\*|\{[^}]*\})\s+from\s+"([^"]+)"/g)].map((m) => ({ clause: m[1], from: m[2] }));
    expect(statements.length).toBeGreaterThan(0);

    // Which statement(s) export from each area (the first folder under src/runtime).
    const byArea = new Map<string, string[]>();
    for (const { from } of statements) {
      const parts = from.replace(/^\.\//, "").split("/");
      if (parts.length === 1) continue; // a top-level file (connector, errors)
      const area = parts[0];
      byArea.set(area, [...(byArea.get(area) ?? []), from]);
    }
    for (const [area, froms] of byArea) {
      if (!fs.existsSync(path.join(RUNTIME, area, "index.ts"))) continue;
      expect(froms, `src/runtime/${area}`).toEqual([`./${area}/index.ts`]);
    }

    // No name in two explicit lists.
    const names = statements
      .filter((s) => s.clause !== "*")
      .flatMap((s) =>
        s.clause
          .slice(1, -1)
          .split(",")
          .map((n) => n.trim().replace(/^type\s+/, "").split(/\s+as\s+/).pop()!)
          .filter((n) => n.length > 0),
      );
    expect(names.filter((n, i) => names.indexOf(n) !== i)).toEqual([]);
  });
});
