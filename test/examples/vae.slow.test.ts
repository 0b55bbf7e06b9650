/**
 * examples/vae: the committed `--to module` output is what lit-migrate writes today and trains
 * like the plain script (the same first 20 losses); the hand-finished LightningCLI version runs
 * from the command line (fastDevRun, bf16-mixed) and logs its reconstructions as an image.
 */
import { mkdtempSync, readFileSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { spawnSync } from "node:child_process";
import { afterAll, describe, expect, it } from "vitest";
import { migrate } from "../../src/codemods/index";
import { traceLosses, compareLosses, tsxLoaderUrl } from "../../src/cli/verify";
import { sourceConditionFlags } from "../../src/cli/source_condition";
import { readEventFile } from "../../src/runtime/loggers/event_file_reader";

const repo = resolve(__dirname, "../..");
const dir = join(repo, "examples", "vae");
const work = mkdtempSync(join(tmpdir(), "vae-example-"));
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe("examples/vae", () => {
  it("train.module.ts is lit-migrate's output for train.ts, and trains like it", async () => {
    const input = join(dir, "train.ts");
    const result = await migrate(readFileSync(input, "utf8"), { to: "module", fileName: input });
    expect(result.status).toBe("migrated");
    expect((result as { output: string }).output).toBe(readFileSync(join(dir, "train.module.ts"), "utf8"));
    const run = (file: string, tag: string) =>
      traceLosses(join(dir, file), { trace: join(work, `${tag}.trace`), steps: 20, cwd: mkdtempSync(join(work, `${tag}-`)), env: { ...process.env }, timeoutMs: 120_000 });
    const plain = await run("train.ts", "plain");
    const module = await run("train.module.ts", "module");
    expect(plain.losses).toHaveLength(20);
    const cmp = compareLosses(plain.losses, module.losses);
    expect(cmp.ok, JSON.stringify(cmp)).toBe(true);
  }, 300_000);

  it("lightning.ts runs from the command line (fastDevRun, bf16-mixed) and logs reconstructions as an image", () => {
    // (out of the repository: what it writes — lightning_logs/ — lands in this scratch folder)
    const cwd = mkdtempSync(join(work, "cli-"));
    const r = spawnSync(process.execPath, [...sourceConditionFlags(), "--import", tsxLoaderUrl(), join(dir, "lightning.ts"), "fit", "--trainer.maxEpochs", "1", "--trainer.limitTrainBatches", "3", "--trainer.limitValBatches", "1", "--trainer.precision", "bf16-mixed", "--trainer.enableProgressBar", "false"], {
      cwd,
      encoding: "utf8",
      env: { ...process.env },
    });
    expect(r.status, r.stderr).toBe(0);
    const logDir = join(cwd, "lightning_logs", "version_0");
    const events = readdirSync(logDir).filter((f) => f.startsWith("events.out.tfevents."));
    const values = events.flatMap((f) => readEventFile(join(logDir, f))).flatMap((e) => e.summary?.value ?? []);
    const recon = values.find((v) => v.tag === "reconstructions" && v.image);
    expect(recon?.image).toMatchObject({ width: 8 * 30 + 2, height: 2 * 30 + 2, colorspace: 3 });
    expect(values.some((v) => v.tag === "val_loss")).toBe(true);
    expect(readdirSync(join(logDir, "checkpoints")).some((f) => /^vae-epoch=0-val_loss=[\d.]+\.ckpt$/.test(f))).toBe(true);
  }, 300_000);

  it("lightning.ts scales to 2 processes with flags only (--trainer.devices 2 --trainer.strategy ddp, with bf16-mixed too); rank 0 alone writes", () => {
    for (const precision of ["32-true", "bf16-mixed"]) {
      const cwd = mkdtempSync(join(work, `ddp-${precision}-`));
      const r = spawnSync(
        process.execPath,
        [...sourceConditionFlags(), "--import", tsxLoaderUrl(), join(dir, "lightning.ts"), "fit", "--trainer.devices", "2", "--trainer.strategy", "ddp", "--trainer.precision", precision, "--trainer.maxEpochs", "1", "--trainer.limitTrainBatches", "2", "--trainer.limitValBatches", "1", "--trainer.enableProgressBar", "false"],
        { cwd, encoding: "utf8", env: { ...process.env }, timeout: 240_000 },
      );
      expect(r.status, r.stderr).toBe(0);
      // One run directory (rank 0's), with its checkpoint and the reconstructions.
      expect(readdirSync(join(cwd, "lightning_logs"))).toEqual(["version_0"]);
      const logDir = join(cwd, "lightning_logs", "version_0");
      const events = readdirSync(logDir).filter((f) => f.startsWith("events.out.tfevents."));
      expect(events).toHaveLength(1);
      const values = events.flatMap((f) => readEventFile(join(logDir, f))).flatMap((e) => e.summary?.value ?? []);
      expect(values.some((v) => v.tag === "reconstructions" && v.image)).toBe(true);
      expect(readdirSync(join(logDir, "checkpoints"))).toHaveLength(1);
    }
  }, 300_000);
});
