// The product: every `fixtures/<name>/input.ts` migrates to its reviewed
// `fixtures/<name>/lite.output.ts` (no TODO) and `fixtures/<name>/module.output.ts` (the TODOs
// listed below, no other), and each output migrates to itself (test/codemods/fixture_helpers.ts;
// the ports of public scripts in `fixtures/real/` are real_fixtures.test.ts's).
//
// After an intended change in the codemod, regenerate the expected files with
//   LIT_MIGRATE_UPDATE_FIXTURES=1 npx vitest run test/codemods/fixtures.test.ts
// and review the diff: these files are what users get.
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { FIXTURES, fixtureNames } from "../fixtures/corpus";
import { expectReviewedOutput, migrateFixture } from "./fixture_helpers";

const names = fixtureNames(FIXTURES);

describe("fixtures --to lite", () => {
  it("there are fixtures", () => {
    expect(names.length).toBeGreaterThan(0);
  });

  for (const name of names) {
    it(name, async () => {
      const result = await migrateFixture(FIXTURES, name, "lite");
      await expectReviewedOutput(FIXTURES, name, "lite", result, join(FIXTURES.dir, name, "lite.output.ts"), (result) => {
        expect(result.todos).toEqual([]);
      });
    });
  }
});

/**
 * What `--to module` leaves to a human in the fixtures, by fixture: checkpoint resumes at a saved
 * epoch, which the Trainer does not read (it resumes from its own checkpoints); lr_scheduler
 * reports the learning rate at the end of each epoch, after the Trainer has stepped StepLR;
 * epoch_batches's minibatch list becomes a field whose type (a generic function's result) only a
 * type checker could name.
 */
const MODULE_TODOS: Record<string, RegExp[]> = {
  epoch_batches: [/^`batches` became a field; the codemod cannot tell its type: declare it/],
  checkpoint: [/^the plain loop resumed at epoch `startEpoch`; the Trainer always runs maxEpochs epochs/],
  lr_scheduler: [/^onTrainEpochEnd runs after the Trainer's end-of-epoch scheduler\.step\(\): this reads the next epoch's learning rate/],
};

describe("fixtures --to module", () => {
  for (const name of names) {
    it(name, async () => {
      const result = await migrateFixture(FIXTURES, name, "module");
      await expectReviewedOutput(FIXTURES, name, "module", result, join(FIXTURES.dir, name, "module.output.ts"), (result) => {
        const expectedTodos = MODULE_TODOS[name] ?? [];
        expect(result.todos.map((t) => t.reason)).toEqual(expectedTodos.map((r) => expect.stringMatching(r)));
        // Each TODO is in the output, where the result says.
        const lines = result.output.split("\n");
        for (const t of result.todos) expect(lines[t.line - 1]!.slice(t.col - 1)).toBe(`// TODO(lit-migrate): ${t.reason}`);
        expect(result.output).toContain(" extends LightningModule {");
      });
    });
  }
});
