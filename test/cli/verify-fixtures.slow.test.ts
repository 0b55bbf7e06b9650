// `lit-migrate --verify` on every fixture, end to end: the bin migrates each plain script
// (a dry run: nothing is written), runs the original and the migrated script on the real
// runtime, and compares their first losses. Slow (two training runs per fixture): part of
// `npm run test:slow`, not of `npm test`.
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative, resolve } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { LIT_MIGRATE } from "./helpers";

const ROOT = resolve(import.meta.dirname, "..", "..");
const fixtures = readdirSync(join(ROOT, "fixtures")).filter((d) => existsSync(join(ROOT, "fixtures", d, "input.ts")));

describe("lit-migrate --verify on the fixtures", () => {
  it("every migrated fixture logs the same losses as its original", () => {
    const r = spawnSync(
      process.execPath,
      [...LIT_MIGRATE, ...fixtures.map((f) => `fixtures/${f}/input.ts`), "--to", "lite", "--dry-run", "--verify", "--steps", "5", "--json"],
      { cwd: ROOT, encoding: "utf8", env: { ...process.env, NO_COLOR: "1" } },
    );
    const json = JSON.parse(r.stdout) as {
      files: { file: string; verify?: { ok: boolean; compared: number; maxRelativeDifference: number | null; traceScale: number; reason?: string } }[];
      exitCode: number;
    };
    for (const f of json.files) {
      expect(f.verify, f.file).toBeDefined();
      expect(f.verify!.reason ?? "", f.file).toBe("");
      expect(f.verify!.ok, f.file).toBe(true);
      expect(f.verify!.compared, f.file).toBe(5);
      expect(f.verify!.maxRelativeDifference!, f.file).toBeLessThanOrEqual(1e-5);
    }
    expect(json.files).toHaveLength(fixtures.length);
    expect([r.status, json.exitCode]).toEqual([0, 0]);
  });

  const workdir = mkdtempSync(join(tmpdir(), "lit-migrate-verify-cwd-"));
  afterAll(() => rmSync(workdir, { recursive: true, force: true }));

  it("--to module: the same losses (grad_accum's compared at 4x: the Trainer traces before its accumulation division, SPEC §6)", () => {
    const r = spawnSync(
      process.execPath,
      [...LIT_MIGRATE, ...fixtures.map((f) => join(ROOT, "fixtures", f, "input.ts")), "--to", "module", "--dry-run", "--verify", "--steps", "5", "--json"],
      // From an empty working folder, which must stay empty: the Trainer's lightning_logs go to verify's temporary folder.
      { cwd: workdir, encoding: "utf8", env: { ...process.env, NO_COLOR: "1" } },
    );
    expect(readdirSync(workdir)).toEqual([]);
    const json = JSON.parse(r.stdout) as {
      files: { file: string; verify?: { ok: boolean; compared: number; maxRelativeDifference: number | null; traceScale: number; reason?: string } }[];
      exitCode: number;
    };
    for (const f of json.files) {
      expect(f.verify, f.file).toBeDefined();
      expect(f.verify!.compared, f.file).toBe(5);
      // grad_accum's plain script traces loss / 4 (what it backpropagates); the module returns the
      // undivided loss, which the Trainer traces, then divides by accumulateGradBatches = 4.
      expect(f.verify!.traceScale, f.file).toBe(f.file === join(ROOT, "fixtures/grad_accum/input.ts") ? 4 : 1);
      expect(f.verify!.reason ?? "", f.file).toBe("");
      expect(f.verify!.maxRelativeDifference!, f.file).toBeLessThanOrEqual(1e-5);
    }
    expect(json.files).toHaveLength(fixtures.length);
    // Every trace matches; exit 1 only because lr_scheduler's, checkpoint's and epoch_batches's
    // outputs carry a TODO (test/codemods/fixtures.test.ts MODULE_TODOS says which).
    expect(json.files.filter((f) => (f as { todos?: unknown[] }).todos?.length).map((f) => relative(ROOT, f.file)).sort()).toEqual([
      "fixtures/checkpoint/input.ts",
      "fixtures/epoch_batches/input.ts",
      "fixtures/lr_scheduler/input.ts",
    ]);
    expect([r.status, json.exitCode]).toEqual([1, 1]);
  });
});
