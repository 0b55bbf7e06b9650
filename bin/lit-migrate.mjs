#!/usr/bin/env node
// Launcher for `lit-migrate`: the CLI is TypeScript (src/cli/lit-migrate.ts), run through tsx's
// ESM loader. Paths are resolved from this file, so it works from any working directory.
import { register } from "tsx/esm/api";

register();
const { main } = await import("../src/cli/lit-migrate.ts");
process.exitCode = await main(process.argv.slice(2), undefined, { formatWorker: true });
