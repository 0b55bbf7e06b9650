// The product: every `fixtures/<name>/input.ts` migrates to its reviewed
// `fixtures/<name>/lite.output.ts` (no TODO) and `fixtures/<name>/module.output.ts` (the TODOs
// listed below, no other), and each output migrates to itself.
//
// After an intended change in the codemod, regenerate the expected files with
//   LIT_MIGRATE_UPDATE_FIXTURES=1 npx vitest run test/codemods/fixtures.test.ts
// and review the diff: these files are what users get.
import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { migrate } from "../../src/codemods/index";

const ROOT = join(import.meta.dirname, "..", "..", "fixtures");
const UPDATE = process.env.LIT_MIGRATE_UPDATE_FIXTURES === "1";
const names = readdirSync(ROOT, { withFileTypes: true })
  .filter((d) => d.isDirectory() && existsSync(join(ROOT, d.name, "input.ts")))
  .map((d) => d.name)
  .sort();

describe("fixtures --to lite", () => {
  it("there are fixtures", () => {
    expect(names.length).toBeGreaterThan(0);
  });

  for (const name of names) {
    it(name, async () => {
      const input = join(ROOT, name, "input.ts");
      const expectedPath = join(ROOT, name, "lite.output.ts");
      const result = await migrate(readFileSync(input, "utf8"), { to: "lite", fileName: input });
      if (result.status !== "migrated") throw new Error(`${name}: ${result.status}: ${"reason" in result ? result.reason : ""}`);
      expect(result.todos).toEqual([]);
      if (UPDATE) writeFileSync(expectedPath, result.output);
      if (!existsSync(expectedPath)) {
        throw new Error(`${expectedPath} is missing: generate it with LIT_MIGRATE_UPDATE_FIXTURES=1 and review it`);
      }
      expect(result.output).toBe(readFileSync(expectedPath, "utf8"));
      // Idempotent: the migrated script is left alone.
      expect(await migrate(result.output, { to: "lite", fileName: expectedPath })).toMatchObject({ status: "unchanged" });
    });
  }
});

/**
 * What `--to module` leaves to a human in the fixtures, by fixture: checkpoint resumes at a saved
 * epoch, which the Trainer does not read (it resumes from its own checkpoints); lr_scheduler
 * reports the learning rate at the end of each epoch, after the Trainer has stepped StepLR.
 */
const MODULE_TODOS: Record<string, RegExp[]> = {
  checkpoint: [/^the plain loop resumed at epoch `startEpoch`; the Trainer always runs maxEpochs epochs/],
  lr_scheduler: [/^onTrainEpochEnd runs after the Trainer's end-of-epoch scheduler\.step\(\): this reads the next epoch's learning rate/],
};

describe("fixtures --to module", () => {
  for (const name of names) {
    it(name, async () => {
      const input = join(ROOT, name, "input.ts");
      const expectedPath = join(ROOT, name, "module.output.ts");
      const result = await migrate(readFileSync(input, "utf8"), { to: "module", fileName: input });
      if (result.status !== "migrated") throw new Error(`${name}: ${result.status}: ${"reason" in result ? result.reason : ""}`);
      const expectedTodos = MODULE_TODOS[name] ?? [];
      expect(result.todos.map((t) => t.reason)).toEqual(expectedTodos.map((r) => expect.stringMatching(r)));
      // Each TODO is in the output, where the result says.
      const lines = result.output.split("\n");
      for (const t of result.todos) expect(lines[t.line - 1]!.slice(t.col - 1)).toBe(`// TODO(lit-migrate): ${t.reason}`);
      expect(result.output).toContain(" extends LightningModule {");
      if (UPDATE) writeFileSync(expectedPath, result.output);
      if (!existsSync(expectedPath)) {
        throw new Error(`${expectedPath} is missing: generate it with LIT_MIGRATE_UPDATE_FIXTURES=1 and review it`);
      }
      expect(result.output).toBe(readFileSync(expectedPath, "utf8"));
      // Idempotent: the migrated script is left alone.
      expect(await migrate(result.output, { to: "module", fileName: expectedPath })).toMatchObject({
        status: "unchanged",
        reason: "already a LightningModule script: nothing to do",
      });
    });
  }
});
