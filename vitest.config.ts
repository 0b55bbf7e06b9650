import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    exclude: ["test/**/*.slow.test.ts", "node_modules/**"],
    // tfjs keeps one engine per process: isolate test files in forks so one file's
    // backend or seed never leaks into another's.
    pool: "forks",
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
