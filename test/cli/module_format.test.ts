// CommonJS scripts have no top-level await: lit-migrate finds a script's module format as Node
// does and writes the entry call accordingly (src/cli/module_format.ts).
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { moduleFormatOf } from "../../src/cli/module_format";
import { cli, read, TRAIN, treesRemovedAfterEach } from "./helpers";

const tree = treesRemovedAfterEach();

describe("moduleFormatOf", () => {
  it("follows Node: the extension first, else the nearest package.json's type", () => {
    const root = tree({ "package.json": '{ "type": "module" }', "sub/package.json": "{}", "a.ts": "", "sub/b.ts": "", "sub/deeper/c.ts": "" });
    expect(moduleFormatOf(join(root, "a.ts"))).toBe("esm");
    expect(moduleFormatOf(join(root, "sub/b.ts"))).toBe("commonjs");
    expect(moduleFormatOf(join(root, "sub/deeper/c.ts"))).toBe("commonjs");
    expect(moduleFormatOf(join(root, "sub/b.mts"))).toBe("esm");
    expect(moduleFormatOf(join(root, "a.cts"))).toBe("commonjs");
  });

  it("an unreadable package.json counts as CommonJS, as Node's default", () => {
    const root = tree({ "package.json": "{ not json" });
    mkdirSync(join(root, "x"));
    writeFileSync(join(root, "x", "t.ts"), "");
    expect(moduleFormatOf(join(root, "x", "t.ts"))).toBe("commonjs");
  });
});

describe("lit-migrate on a CommonJS script", () => {
  it("--to lite: the run call is a statement of its own, not a top-level await", async () => {
    const root = tree({ "package.json": '{ "name": "p", "version": "1.0.0" }', "train.ts": TRAIN });
    const r = await cli(["train.ts", "--to", "lite"], root);
    expect(r.code).toBe(0);
    const out = read(root, "train.lite.ts");
    expect(out).toMatch(/^new Lite\(\{[^\n]*\}\)\.run\(/m);
    expect(out).not.toMatch(/^await /m);
  });

  it("--to module: the fit call takes main(...)'s place, not a top-level await", async () => {
    const root = tree({ "package.json": "{}", "train.ts": TRAIN });
    const r = await cli(["train.ts", "--to", "module"], root);
    expect(r.code).toBe(0);
    const out = read(root, "train.module.ts");
    expect(out).toMatch(/^new Trainer\(\{ maxEpochs: 1 \}\)\.fit\(new NetModule\(/m);
    expect(out).not.toMatch(/^await /m);
  });

  it("the same script in an ES module package awaits at the top level", async () => {
    const root = tree({ "train.ts": TRAIN });
    await cli(["train.ts", "--to", "lite"], root);
    expect(read(root, "train.lite.ts")).toMatch(/^await new Lite\(/m);
  });
});
