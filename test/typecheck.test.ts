// The type-check of `npm test`: sources, fixtures (every migrated output included) and examples
// (tsconfig.outputs.json). The whole repository, tests and benchmarks included, is checked by
// typecheck.slow.test.ts.
import { expect, it } from "vitest";
import { typecheckProject } from "./typecheck";

it("tsc -p tsconfig.outputs.json --noEmit reports no error", async () => {
  const { code, output } = await typecheckProject("tsconfig.outputs.json");
  expect(output.trim(), "tsc's errors").toBe("");
  expect(code).toBe(0);
}, 300_000);
