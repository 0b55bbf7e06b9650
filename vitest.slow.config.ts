import { defaultServerConditions } from "vite";
import { defineConfig } from "vitest/config";

export default defineConfig({
  // As in vitest.config.ts: `lightning-ts` is the sources.
  ssr: { resolve: { conditions: ["lightning-ts:source", ...defaultServerConditions], externalConditions: ["lightning-ts:source"] } },
  test: {
    include: ["test/**/*.slow.test.ts"],
    // Timings and whole training runs: a process per file, nothing shared.
    pool: "forks",
    // The fixture runs load the library from a bundle of the sources (test/setup/library_bundle.ts).
    globalSetup: ["test/setup/library_bundle.ts"],
    testTimeout: 600_000,
    hookTimeout: 600_000,
  },
});
