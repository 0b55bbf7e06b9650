import { defaultServerConditions } from "vite";
import { defineConfig } from "vitest/config";
import { LongestFirst } from "./test/setup/sequencer.ts";

const slow = "test/**/*.slow.test.ts";

export default defineConfig({
  // `lightning-ts` and `lightning-ts/torch` are the sources (package.json's source condition), so
  // that no build stands between an edit and its test.
  ssr: { resolve: { conditions: ["lightning-ts:source", ...defaultServerConditions], externalConditions: ["lightning-ts:source"] } },
  test: {
    testTimeout: 60_000,
    hookTimeout: 60_000,
    sequence: { sequencer: LongestFirst },
    // vitest's default is one worker fewer than the cores, 1 here, which ran every file in
    // turn; the type-check and the fixture file mostly wait on child processes of their own,
    // so a second worker runs the other files meanwhile.
    maxWorkers: 2,
    projects: [
      {
        // Text in, text out (ts-morph, prettier): no tfjs, no process-wide state, so the files
        // share worker threads and load ts-morph once per worker.
        extends: true,
        test: {
          name: "codemods",
          include: ["test/codemods/**/*.test.ts", "test/cli/**/*.test.ts"],
          exclude: [slow],
          pool: "threads",
          isolate: false,
        },
      },
      {
        // tfjs keeps one engine per process, so these run in child processes; each process
        // serves many files, and test/setup/fresh_file.ts gives every file a fresh process's
        // state (environment, backend, tape, rank).
        extends: true,
        test: {
          name: "runtime",
          include: ["test/**/*.test.ts"],
          exclude: [slow, "test/codemods/**", "test/cli/**", "test/fixtures/**", "test/typecheck.test.ts"],
          pool: "forks",
          isolate: false,
          setupFiles: ["test/setup/fresh_file.ts"],
          // user scripts run as child processes load the library from it (library_bundle.ts)
          globalSetup: ["test/setup/library_bundle.ts"],
        },
      },
      {
        // Whole programs in child processes of their own: the fixture scripts
        // (test/fixtures/fixture_runs.ts) and the type-check (test/typecheck.test.ts).
        extends: true,
        test: {
          name: "programs",
          include: ["test/fixtures/**/*.test.ts", "test/typecheck.test.ts"],
          exclude: [slow],
          pool: "forks",
          globalSetup: ["test/setup/library_bundle.ts"],
        },
      },
    ],
  },
});
