// The product: every `fixtures/<name>/input.ts` migrates to its reviewed
// `fixtures/<name>/lite.output.ts`, with no TODO, and the output migrates to itself.
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
