// The lit-migrate command (src/cli/bin.ts) as a user runs it: a child process, from any working
// directory. Here from the sources through tsx; test/package/pack.slow.test.ts runs the built one
// from an installed tarball.
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { LIT_MIGRATE, read, remove, SYNTAX_ERROR, tempTree, TRAIN } from "./helpers";


const root = tempTree({ "train.ts": TRAIN, "broken.ts": SYNTAX_ERROR });
afterAll(() => remove(root));

function run(args: string[], cwd: string) {
  const r = spawnSync(process.execPath, [...LIT_MIGRATE, ...args], { cwd, encoding: "utf8", env: { ...process.env, NO_COLOR: "1" } });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe("the lit-migrate command", () => {
  it("migrates from an unrelated working directory", () => {
    const r = run([join(root, "train.ts"), "--to", "lite"], "/");
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(read(root, "train.lite.ts")).toContain("extends LightningLite");
  });

  it("reports bad input as file:line:col with exit 2 and no stack trace", () => {
    const r = run(["broken.ts", "nope.ts", "--to", "lite"], root);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe("✖ broken.ts:2:16  syntax error: Expression expected.\n✖ nope.ts:1:1  no such file or directory\n");
    expect(r.stdout + r.stderr).not.toMatch(/\n\s+at /);
    expect(existsSync(join(root, "broken.lite.ts"))).toBe(false);
  });

  it("usage errors exit 2", () => {
    const r = run(["train.ts"], root);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("error: required option '--to <target>' not specified");
  });
});
