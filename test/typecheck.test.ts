// The type-check of `npm test`: one `tsc` program over sources, tests, fixtures (every migrated
// output included), examples and benchmarks (tsconfig.json). Run as a test so it shares the
// two cores with the rest of the suite instead of holding one while the other idles.
import { spawn } from "node:child_process";
import { createRequire } from "node:module";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { expect, it } from "vitest";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const TSC = createRequire(import.meta.url).resolve("typescript/bin/tsc");

it("tsc -p tsconfig.json --noEmit reports no error", async () => {
  const { code, output } = await new Promise<{ code: number | null; output: string }>((done) => {
    const child = spawn(process.execPath, [TSC, "-p", "tsconfig.json", "--noEmit", "--pretty", "false"], { cwd: ROOT });
    let output = "";
    child.stdout.on("data", (d: Buffer) => (output += d.toString()));
    child.stderr.on("data", (d: Buffer) => (output += d.toString()));
    child.on("close", (c) => done({ code: c, output }));
  });
  expect(output.trim(), "tsc's errors").toBe("");
  expect(code).toBe(0);
}, 300_000);
