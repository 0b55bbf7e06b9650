/**
 * The check both fixture tests make of a script and one target (test/codemods/fixtures.test.ts for
 * `fixtures/`, test/codemods/real_fixtures.test.ts for `fixtures/real/`): `migrate()` gives
 * "migrated", byte for byte the reviewed output file, and that output migrates to itself.
 *
 * `LIT_MIGRATE_UPDATE_FIXTURES=1` writes the output files instead of reading them (review the diff:
 * these files are what users get).
 */
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { expect } from "vitest";
import { migrate, type MigrationResult } from "../../src/codemods/index";
import { shown, type Corpus, type Target } from "../fixtures/corpus";
import type { Migrated } from "./helpers";

export const UPDATE = process.env.LIT_MIGRATE_UPDATE_FIXTURES === "1";

/** What `migrate()` says of an output it made: nothing to do. */
const ALREADY: Record<Target, string> = {
  lite: "already a LightningLite script: nothing to do",
  module: "already a LightningModule script: nothing to do",
};

export function inputOf(corpus: Corpus, name: string): string {
  return join(corpus.dir, name, "input.ts");
}

/** `migrate()` on the corpus's `<name>/input.ts`, as lit-migrate runs it. */
export async function migrateFixture(corpus: Corpus, name: string, to: Target): Promise<MigrationResult> {
  const input = inputOf(corpus, name);
  return migrate(readFileSync(input, "utf8"), { to, fileName: input });
}

export function describeResult(result: MigrationResult): string {
  return `${result.status}${"reason" in result ? `: ${result.reason}` : ""}`;
}

/**
 * `result` (the migration of `<name>/input.ts`) is "migrated" and passes `check`, its output is
 * `expectedPath` byte for byte, and that output migrates to itself.
 */
export async function expectReviewedOutput(
  corpus: Corpus,
  name: string,
  to: Target,
  result: MigrationResult,
  expectedPath: string,
  check?: (result: Migrated) => void,
): Promise<void> {
  if (result.status !== "migrated") throw new Error(`${corpus.label}/${name}/input.ts --to ${to}: ${describeResult(result)}`);
  check?.(result);
  if (UPDATE) writeFileSync(expectedPath, result.output);
  if (!existsSync(expectedPath)) {
    throw new Error(`${shown(expectedPath)} is missing: generate it with LIT_MIGRATE_UPDATE_FIXTURES=1 and review it`);
  }
  expect(result.output, shown(expectedPath)).toBe(readFileSync(expectedPath, "utf8"));
  // Idempotent: the migrated script is left alone.
  expect(await migrate(result.output, { to, fileName: expectedPath }), `${shown(expectedPath)} --to ${to}`).toMatchObject({
    status: "unchanged",
    reason: ALREADY[to],
  });
}
