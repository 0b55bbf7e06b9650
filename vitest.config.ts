import { defineConfig } from "vitest/config";
import { FixturesFirst } from "./test/setup/sequencer";

const slow = "test/**/*.slow.test.ts";

export default defineConfig({
  test: {
    testTimeout: 60_000,
    hookTimeout: 60_000,
    sequence: { sequencer: FixturesFirst },
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
          exclude: [slow, "test/codemods/**", "test/cli/**", "test/fixtures/**"],
          pool: "forks",
          isolate: false,
          setupFiles: ["test/setup/fresh_file.ts"],
        },
      },
      {
        // Whole scripts in child processes of their own (test/fixtures/fixture_runs.ts).
        extends: true,
        test: {
          name: "fixtures",
          include: ["test/fixtures/**/*.test.ts"],
          exclude: [slow],
          pool: "forks",
        },
      },
    ],
  },
});
