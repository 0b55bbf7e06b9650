import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.slow.test.ts"],
    // Timings and whole training runs: a process per file, nothing shared.
    pool: "forks",
    testTimeout: 600_000,
    hookTimeout: 600_000,
  },
});
