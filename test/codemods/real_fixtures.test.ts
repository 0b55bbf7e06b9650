// The ports of public PyTorch scripts, `fixtures/real/<name>/input.ts`, for each target:
// - where the reviewed output `<target>.output.ts` exists, the script migrates to it byte for
//   byte and the output migrates to itself (test/codemods/fixture_helpers.ts, as for `fixtures/`);
// - where it does not, `migrate()` must still give "needs-human" or "failed", and
//   `<target>.status` must record that status and reason (`needs-human: <reason>`): a known gap,
//   kept true, so a script that starts migrating (or fails differently) flags its stale record.
//
//   LIT_MIGRATE_UPDATE_FIXTURES=1 npx vitest run test/codemods/real_fixtures.test.ts
// writes every output that migrates (removing its record) and every record of a gap with no
// reviewed output; review the diff.
import { existsSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import type { MigrationResult } from "../../src/codemods/index";
import {
  REAL_FIXTURES,
  TARGETS,
  fixtureNames,
  formatStatusRecord,
  readStatusRecord,
  shown,
  statusRecordPath,
  type StatusRecord,
} from "../fixtures/corpus";
import { UPDATE, describeResult, expectReviewedOutput, migrateFixture } from "./fixture_helpers";

const names = fixtureNames(REAL_FIXTURES);

type Gap = Extract<MigrationResult, { status: "needs-human" | "failed" }>;
const isGap = (r: MigrationResult): r is Gap => r.status === "needs-human" || r.status === "failed";

describe("fixtures/real", () => {
  it(`there are ${REAL_FIXTURES.minimum} ports`, () => {
    expect(names.length).toBeGreaterThanOrEqual(REAL_FIXTURES.minimum);
  });

  for (const name of names) {
    for (const { to, file } of TARGETS) {
      it(`${name} --to ${to}`, async () => {
        const expectedPath = join(REAL_FIXTURES.dir, name, file);
        const recordPath = statusRecordPath(REAL_FIXTURES, name, to);
        const record = readStatusRecord(REAL_FIXTURES, name, to);
        const result = await migrateFixture(REAL_FIXTURES, name, to);

        if (existsSync(expectedPath) || (UPDATE && result.status === "migrated")) {
          if (UPDATE) rmSync(recordPath, { force: true });
          else expect(record, `${shown(recordPath)} is stale: ${file} is the reviewed output; remove the record`).toBeNull();
          await expectReviewedOutput(REAL_FIXTURES, name, to, result, expectedPath);
          return;
        }

        // No reviewed output: a known gap, which the record must describe as it is now.
        if (!isGap(result)) {
          throw new Error(
            `${shown(expectedPath)} is missing and migrate() gives ${describeResult(result)}` +
              (record ? ` (${shown(recordPath)} says '${record.status}')` : "") +
              (result.status === "migrated"
                ? `: review the output and save it there (LIT_MIGRATE_UPDATE_FIXTURES=1 writes it)${record ? ", and remove the record" : ""}`
                : ""),
          );
        }
        // An internal error is a lit-migrate bug to fix, never a known gap to record.
        if (result.status === "failed" && result.internal) throw new Error(`${name} --to ${to}: ${result.reason}`);
        const now: StatusRecord = { status: result.status, reason: result.reason };
        if (UPDATE) writeFileSync(recordPath, formatStatusRecord(now));
        if (!UPDATE && !record) {
          throw new Error(
            `${shown(expectedPath)} is missing and migrate() gives ${describeResult(result)}: ` +
              `record that in ${shown(recordPath)} as the line '${formatStatusRecord(now).trimEnd()}', or write the reviewed output`,
          );
        }
        expect(readStatusRecord(REAL_FIXTURES, name, to), `${shown(recordPath)} no longer says what migrate() gives`).toEqual(now);
        // needs-human: the input, still working, plus one TODO at the construct (SPEC §7).
        if (result.status === "needs-human") {
          expect(result.todos.map((t) => t.reason)).toEqual([expect.stringContaining(result.reason)]);
          expect(result.output).toContain(`// TODO(lit-migrate): ${result.todos[0]!.reason}`);
        }
      });
    }
  }
});
