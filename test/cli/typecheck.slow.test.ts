// `lit-migrate --typecheck` (src/cli/typecheck.ts): the full compiler check of each output,
// against what the input already had. Slow (a program of ~950 files per check, 2–3 s): part of
// `npm run test:slow`. The scripts live under the repository (/.tmp/), where `lightning-ts`
// resolves to the package itself, as it does for a user's project.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { typecheckFiles } from "../../src/cli/typecheck";
import { cli, TRAIN } from "./helpers";

const ROOT = resolve(import.meta.dirname, "..", "..");
mkdirSync(join(ROOT, ".tmp"), { recursive: true });
const dir = mkdtempSync(join(ROOT, ".tmp", "typecheck-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("--typecheck", () => {
  it("checks the output with the compiler and says so", async () => {
    writeFileSync(join(dir, "train.ts"), TRAIN);
    const r = await cli(["train.ts", "--to", "module", "--dry-run", "--typecheck"], dir);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("    type-checked: no errors\n");
  });

  it("does not blame the migration for the input's own type errors", async () => {
    writeFileSync(join(dir, "loose.ts"), TRAIN.replace("async function main(", 'const wrong: number = "1";\nasync function main('));
    const r = await cli(["loose.ts", "--to", "lite", "--dry-run", "--typecheck"], dir);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("    type-checked: no error the input did not have\n");
  });

  it("finds an error an output has and its input has not, at its place", () => {
    const input = join(dir, "a.ts");
    const output = join(dir, "a.module.ts");
    const ok = 'import { nn } from "lightning-ts/torch";\nexport const layer: nn.Module = new nn.Linear(2, 2);\n';
    const broken = ok.replace("new nn.Linear(2, 2)", "new nn.Linear(2)");
    const checked = typecheckFiles(new Map([[input, ok], [output, broken]]));
    expect(checked.get(input)).toEqual([]);
    expect(checked.get(output)).toEqual([{ line: 2, col: 33, message: expect.stringMatching(/^Expected 2-3 arguments, but got 1\.$/) }]);
  });
});
