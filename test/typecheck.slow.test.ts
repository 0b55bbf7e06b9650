// The whole repository's type-check (tsconfig.json): sources, tests, fixtures, examples and
// benchmarks — what an editor shows. `npm test` checks the part users run (typecheck.test.ts).
import { expect, it } from "vitest";
import { typecheckProject } from "./typecheck";

it("tsc -p tsconfig.json --noEmit reports no error", async () => {
  const { code, output } = await typecheckProject("tsconfig.json");
  expect(output.trim(), "tsc's errors").toBe("");
  expect(code).toBe(0);
}, 300_000);
