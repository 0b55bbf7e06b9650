#!/usr/bin/env node
// The `lit-migrate` command (package.json "bin" → dist/cli/bin.js). From the sources:
// `npx tsx src/cli/bin.ts ...`.
import { main } from "./lit-migrate.ts";

// `lit-migrate --help | head`: the reader went away; stop quietly, as other commands do.
for (const stream of [process.stdout, process.stderr]) {
  stream.on("error", (error: NodeJS.ErrnoException) => {
    if (error.code !== "EPIPE") throw error;
    process.exit(process.exitCode ?? 0);
  });
}

process.exitCode = await main(process.argv.slice(2), undefined, { formatWorker: true });
