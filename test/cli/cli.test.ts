// `lit-migrate` (SPEC §7), in-process: outputs, dry runs, directories, JSON, exit codes,
// --in-place safety, bad inputs.
import { existsSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { cli, git, NO_LOOP, read, SYNTAX_ERROR, TRAIN, TRAIN_WITH_TODO, treesRemovedAfterEach } from "./helpers";

const tree = treesRemovedAfterEach();

describe("lit-migrate --to lite", () => {
  it("writes train.lite.ts beside train.ts, leaves the input alone, exits 0 with a summary", async () => {
    const root = tree({ "train.ts": TRAIN });
    const r = await cli(["train.ts", "--to", "lite"], root);
    expect(r.code).toBe(0);
    expect(read(root, "train.ts")).toBe(TRAIN);
    expect(read(root, "train.lite.ts")).toContain("class Lite extends LightningLite {");
    expect(r.stdout).toContain("✔ train.ts → train.lite.ts");
    expect(r.stdout).toContain("main() (line 10) → Lite.run(), class Lite extends LightningLite");
    expect(r.stdout).toContain("[model, optimizer] = this.setup(model, optimizer) after line 13");
    expect(r.stdout).toContain("device moves stripped: 3 (also removed: 1 device variable)");
    expect(r.stdout).toContain("backward calls rewritten: 1");
    expect(r.stdout).toContain("1 migrated, 0 unchanged, 0 failed");
    expect(r.stderr).toBe("");
    // No colour when not on a terminal.
    expect(r.stdout).not.toMatch(/\u001b\[/);
  });

  it("is idempotent: the output migrates to itself (nothing to do, exit 0)", async () => {
    const root = tree({ "train.ts": TRAIN });
    await cli(["train.ts", "--to", "lite"], root);
    const output = read(root, "train.lite.ts");
    const r = await cli(["train.lite.ts", "--to", "lite", "--out", "again.ts"], root);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("= train.lite.ts  already a LightningLite script: nothing to do");
    expect(r.stdout).toContain("0 migrated, 1 unchanged, 0 failed");
    expect(existsSync(join(root, "again.ts"))).toBe(false);
    // Re-running on the input rewrites the same output without complaint.
    expect((await cli(["train.ts", "--to", "lite"], root)).code).toBe(0);
    expect(read(root, "train.lite.ts")).toBe(output);
  });

  it("--dry-run and --diff write nothing and print a unified diff", async () => {
    for (const flag of ["--dry-run", "--diff"]) {
      const root = tree({ "train.ts": TRAIN });
      const r = await cli(["train.ts", "--to", "lite", flag], root);
      expect(r.code).toBe(0);
      expect(existsSync(join(root, "train.lite.ts"))).toBe(false);
      expect(read(root, "train.ts")).toBe(TRAIN);
      expect(r.stdout).toContain("--- train.ts\n+++ train.lite.ts\n@@ ");
      expect(r.stdout).toContain("-      loss.backward();\n");
      expect(r.stdout).toContain("+        this.backward(loss);\n");
      expect(r.stdout).toContain("(dry run: not written)");
    }
  });

  it("refuses to overwrite a different existing output without --force", async () => {
    const root = tree({ "train.ts": TRAIN, "train.lite.ts": "// my edits\n" });
    const r = await cli(["train.ts", "--to", "lite"], root);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("✖ train.ts:1:1  train.lite.ts already exists and differs; pass --force to overwrite it");
    expect(read(root, "train.lite.ts")).toBe("// my edits\n");
    expect((await cli(["train.ts", "--to", "lite", "--force"], root)).code).toBe(0);
    expect(read(root, "train.lite.ts")).toContain("extends LightningLite");
  });

  it("--out names a file for one input, a mirrored directory otherwise", async () => {
    const root = tree({ "train.ts": TRAIN, "exp/a.ts": TRAIN, "exp/sub/b.ts": TRAIN });
    expect((await cli(["train.ts", "--to", "lite", "--out", "out/lite-train.ts"], root)).code).toBe(0);
    expect(read(root, "out/lite-train.ts")).toContain("extends LightningLite");
    expect((await cli(["exp", "--to", "lite", "--out", "dist"], root)).code).toBe(0);
    expect(read(root, "dist/a.lite.ts")).toContain("extends LightningLite");
    expect(read(root, "dist/sub/b.lite.ts")).toContain("extends LightningLite");
  });

  it("--class-name names the class", async () => {
    const root = tree({ "train.ts": TRAIN });
    expect((await cli(["train.ts", "--to", "lite", "--class-name", "MyLite"], root)).code).toBe(0);
    expect(read(root, "train.lite.ts")).toContain("class MyLite extends LightningLite");
  });

  it("exit 1 when the migration needs a human: TODO lines as output:line:col  reason", async () => {
    const root = tree({ "train.ts": TRAIN_WITH_TODO });
    const r = await cli(["train.ts", "--to", "lite"], root);
    expect(r.code).toBe(1);
    const output = read(root, "train.lite.ts").split("\n");
    const todo = /TODO train\.lite\.ts:(\d+):(\d+) {2}(.*)/.exec(r.stdout)!;
    expect(todo[3]).toBe("cannot tell whether `.to(other)` is a device move; Lite moves models and batches itself, so remove it if it is one");
    expect(output[Number(todo[1]) - 1]!.slice(Number(todo[2]) - 1)).toBe(`// TODO(lit-migrate): ${todo[3]}`);
    expect(r.stdout).toContain("! train.ts → train.lite.ts  1 TODO");
  });

  it("a directory: recurses over *.ts, skips generated and declaration files, ends with the counts", async () => {
    const root = tree({
      "scripts/train.ts": TRAIN,
      "scripts/deep/todo.ts": TRAIN_WITH_TODO,
      "scripts/model.ts": NO_LOOP,
      "scripts/broken.ts": SYNTAX_ERROR,
      "scripts/notes.md": "# not a script\n",
      "scripts/old.lite.ts": "garbage that is never read (",
      "scripts/types.d.ts": "garbage (",
      "scripts/node_modules/pkg/index.ts": "garbage (",
    });
    const r = await cli(["scripts", "--to", "lite"], root);
    expect(r.code).toBe(2);
    expect(r.stdout).toContain("✔ scripts/train.ts → scripts/train.lite.ts");
    expect(r.stdout).toContain("! scripts/deep/todo.ts → scripts/deep/todo.lite.ts");
    expect(r.stdout).toContain("= scripts/model.ts  no training loop found (no loss.backward() call)");
    expect(r.stderr).toBe("✖ scripts/broken.ts:2:16  syntax error: Expression expected.\n");
    expect(r.stdout.trimEnd().split("\n").pop()).toBe("2 migrated, 1 unchanged, 1 failed");
    expect(existsSync(join(root, "scripts/model.lite.ts"))).toBe(false);
    expect(existsSync(join(root, "scripts/broken.lite.ts"))).toBe(false);
  });

  it("a directory with no training script is a mistaken path: exit 2 with a message, while one holding only migrated outputs is nothing to do", async () => {
    const root = tree({ "empty/notes.md": "# nothing\n", "helpers/model.ts": NO_LOOP, "done/train.ts": TRAIN });
    const empty = await cli(["empty", "--to", "lite"], root);
    expect([empty.code, empty.stderr]).toEqual([2, "✖ empty:1:1  no TypeScript files in this directory\n"]);
    const helpers = await cli(["helpers", "--to", "lite"], root);
    expect(helpers.code).toBe(2);
    expect(helpers.stderr).toBe("✖ helpers:1:1  no training script in this directory (1 TypeScript file, none calls backward())\n");
    expect((await cli(["done", "--to", "lite"], root)).code).toBe(0);
    // A rerun over the same folder: train.ts is unchanged (its output exists and is the same), train.lite.ts is skipped.
    expect((await cli(["done", "--to", "lite"], root)).code).toBe(0);
  });

  it("globs select files", async () => {
    const root = tree({ "a/x.ts": TRAIN, "b/y.ts": TRAIN, "b/z.js": "x" });
    const r = await cli(["*/[xy].ts", "--to", "lite"], root);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("2 migrated, 0 unchanged, 0 failed");
  });

  it("--json: per-file results and counts", async () => {
    const root = tree({ "d/train.ts": TRAIN, "d/todo.ts": TRAIN_WITH_TODO, "d/model.ts": NO_LOOP, "d/broken.ts": SYNTAX_ERROR });
    const r = await cli(["d", "missing.ts", "--to", "lite", "--json"], root);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe("");
    const json = JSON.parse(r.stdout);
    expect(json.to).toBe("lite");
    expect(json.counts).toEqual({ migrated: 2, "needs-human": 0, unchanged: 1, failed: 2 });
    expect(json.exitCode).toBe(2);
    const byFile = Object.fromEntries(json.files.map((f: { file: string }) => [f.file, f]));
    expect(byFile["missing.ts"]).toEqual({
      file: "missing.ts", status: "failed", reason: "no such file or directory", line: 1, col: 1, todos: [], edits: {}, notes: [], written: false,
    });
    expect(byFile["d/broken.ts"]).toMatchObject({ status: "failed", reason: "syntax error: Expression expected.", line: 2, col: 16 });
    expect(byFile["d/model.ts"]).toMatchObject({ status: "unchanged", reason: "no training loop found (no loss.backward() call)" });
    expect(byFile["d/train.ts"]).toMatchObject({
      status: "migrated",
      output: "d/train.lite.ts",
      todos: [],
      written: true,
      edits: { deviceMovesStripped: 3, deviceVariablesRemoved: 1, backwardRewritten: 1, setupCalls: 1, dataloadersWrapped: 1 },
    });
    expect(byFile["d/todo.ts"].todos).toEqual([{ line: expect.any(Number), col: 9, reason: expect.stringMatching(/^cannot tell whether/) }]);
    expect(Object.keys(byFile["d/train.ts"].edits).sort()).toEqual([
      "aliasesCollapsed", "backwardRewritten", "checkpointCallsRewritten", "clipGradientsRewritten", "dataloadersWrapped",
      "deviceConditionalsRemoved", "deviceMovesStripped", "deviceParametersRemoved", "deviceVariablesRemoved",
      "helpersGivenLite", "importsAdded", "importsRemoved", "setupCalls",
    ]);
  });

  it("bad inputs: file:line:col  reason, exit 2, input untouched, no stack trace", async () => {
    const root = tree({ "broken.ts": SYNTAX_ERROR, "model.ts": NO_LOOP, "train.py": "print(1)\n", "dir/empty.txt": "" });
    const cases: [string[], string][] = [
      [["broken.ts"], "✖ broken.ts:2:16  syntax error: Expression expected.\n"],
      [["model.ts"], "✖ model.ts:1:1  no training loop found (no loss.backward() call)\n"],
      [["train.py"], "✖ train.py:1:1  not a TypeScript file (expected .ts, .mts, .cts, .tsx)\n"],
      [["nope.ts"], "✖ nope.ts:1:1  no such file or directory\n"],
      [["nothing/*.ts"], "✖ nothing/*.ts:1:1  no TypeScript files match this pattern\n"],
    ];
    for (const [args, stderr] of cases) {
      const r = await cli([...args, "--to", "lite"], root);
      expect(r.code, args[0]).toBe(2);
      expect(r.stderr, args[0]).toBe(stderr);
      expect(r.stdout).toContain("0 migrated");
    }
    expect(read(root, "broken.ts")).toBe(SYNTAX_ERROR);
    expect(existsSync(join(root, "broken.lite.ts"))).toBe(false);
  });

  it("usage errors exit 2", async () => {
    const root = tree({ "train.ts": TRAIN });
    expect((await cli(["train.ts"], root)).stderr).toContain("required option '--to <target>' not specified");
    expect((await cli(["train.ts"], root)).code).toBe(2);
    expect((await cli(["train.ts", "--to", "jax"], root)).code).toBe(2);
    expect((await cli(["train.ts", "--to", "lite", "--steps", "0"], root)).code).toBe(2);
    const both = await cli(["train.ts", "--to", "lite", "--in-place", "--out", "x.ts"], root);
    expect([both.code, both.stderr]).toEqual([2, "lit-migrate: --in-place and --out exclude each other\n"]);
    expect((await cli(["--help"], root)).code).toBe(0);
  });

  it("colours: only on a terminal or with FORCE_COLOR, never with NO_COLOR", async () => {
    const root = tree({ "train.ts": TRAIN });
    const forced = await cli(["train.ts", "--to", "lite", "--dry-run"], root, { FORCE_COLOR: "1" });
    expect(forced.stdout).toMatch(/\u001b\[32m✔/);
    const noColor = await cli(["train.ts", "--to", "lite", "--dry-run"], root, { NO_COLOR: "1" });
    expect(noColor.stdout).not.toMatch(/\u001b\[/);
  });

  it("--quiet prints only failures", async () => {
    const root = tree({ "train.ts": TRAIN, "broken.ts": SYNTAX_ERROR });
    const r = await cli([".", "--to", "lite", "--quiet"], root);
    expect(r.stdout).toBe("");
    expect(r.stderr).toBe("✖ broken.ts:2:16  syntax error: Expression expected.\n");
  });
});

describe("lit-migrate --to module", () => {
  it("writes train.module.ts beside train.ts, exits 0 with what moved where", async () => {
    const root = tree({ "train.ts": TRAIN });
    const r = await cli(["train.ts", "--to", "module"], root);
    expect(r.code).toBe(0);
    expect(r.stderr).toBe("");
    expect(read(root, "train.ts")).toBe(TRAIN);
    const out = read(root, "train.module.ts");
    expect(out).toContain("class NetModule extends LightningModule {");
    expect(out).toContain("await new Trainer({ maxEpochs: 1 }).fit(new NetModule({ epochs: 1 }));");
    expect(r.stdout).toContain("✔ train.ts → train.module.ts");
    expect(r.stdout).toContain("    model (line 12) → field `model` of NetModule\n");
    expect(r.stdout).toContain("    batch loop (lines 16–21) → trainingStep(), returning loss (the Trainer runs zeroGrad, backward and step)\n");
    expect(r.stdout).toContain("    DataLoader loader (line 14) → trainDataloader()\n");
    expect(r.stdout).toContain("device moves stripped: 3 (also removed: 1 device variable)");
    expect(r.stdout).toContain("backward calls rewritten: 1");
    expect(r.stdout).toContain("1 migrated, 0 unchanged, 0 failed");
  });

  it("is idempotent: the module script migrates to itself (nothing to do, exit 0); a directory run skips *.module.ts", async () => {
    const root = tree({ "train.ts": TRAIN });
    await cli(["train.ts", "--to", "module"], root);
    const r = await cli(["train.module.ts", "--to", "module", "--out", "again.ts"], root);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("= train.module.ts  already a LightningModule script: nothing to do");
    expect(existsSync(join(root, "again.ts"))).toBe(false);
    const dir = await cli([".", "--to", "module"], root);
    expect(dir.code).toBe(0);
    expect(dir.stdout).toContain("✔ train.ts → train.module.ts");
    expect(dir.stdout).toContain("1 migrated, 0 unchanged, 0 failed");
  });

  it("--class-name names the module", async () => {
    const root = tree({ "train.ts": TRAIN });
    expect((await cli(["train.ts", "--to", "module", "--class-name", "Classifier"], root)).code).toBe(0);
    expect(read(root, "train.module.ts")).toContain("class Classifier extends LightningModule {");
    expect(read(root, "train.module.ts")).toContain(".fit(new Classifier({ epochs: 1 }))");
    const bad = await cli(["train.ts", "--to", "module", "--class-name", "Net", "--force"], root);
    expect([bad.code, bad.stderr]).toEqual([2, "✖ train.ts:1:1  --class-name 'Net' is already declared in this file; choose another name\n"]);
  });

  it("exit 1, needs a human, when a construct has no LightningModule form: the script is written back working, with the TODO, reported as file:line:col", async () => {
    const early = TRAIN.replace("      optimizer.step();\n", "      optimizer.step();\n      if (loss.item() < 0.1) break;\n      console.log(loss.item());\n");
    const root = tree({ "train.ts": early });
    const r = await cli(["train.ts", "--to", "module"], root);
    expect(r.code).toBe(1);
    const output = read(root, "train.module.ts");
    const todo = /TODO train\.module\.ts:(\d+):(\d+) {2}(.*)/.exec(r.stdout)!;
    expect(todo[3]).toMatch(/^not migrated to a LightningModule: `break` in the middle of a batch ends the epoch early/);
    expect(output.split("\n")[Number(todo[1]) - 1]!.slice(Number(todo[2]) - 1)).toBe(`// TODO(lit-migrate): ${todo[3]}`);
    expect(output).not.toContain("LightningModule {");
    expect(r.stdout).toContain("? train.ts → train.module.ts  needs a human");
    expect(r.stdout).toMatch(/left as it is: `break` in the middle of a batch ends the epoch early.* \(line 21\)\n/);
    expect(r.stdout).toContain("0 migrated, 1 needs a human, 0 unchanged, 0 failed");
  });

  it("--json and --dry-run work the same as for lite", async () => {
    const root = tree({ "train.ts": TRAIN });
    const dry = await cli(["train.ts", "--to", "module", "--dry-run"], root);
    expect(dry.code).toBe(0);
    expect(existsSync(join(root, "train.module.ts"))).toBe(false);
    expect(dry.stdout).toContain("--- train.ts\n+++ train.module.ts\n@@ ");
    expect(dry.stdout).toContain("+class NetModule extends LightningModule {\n");
    const json = JSON.parse((await cli(["train.ts", "--to", "module", "--json"], root)).stdout);
    expect(json.to).toBe("module");
    expect(json.files[0]).toMatchObject({ file: "train.ts", status: "migrated", output: "train.module.ts", todos: [], written: true });
    expect(json.files[0].edits).toMatchObject({ deviceMovesStripped: 3, backwardRewritten: 1, importsAdded: 2, importsRemoved: 1 });
  });
});

describe("--in-place", () => {
  it("rewrites a committed file in a git repository", async () => {
    const root = tree({ "train.ts": TRAIN });
    git(root, "init", "-q");
    git(root, "add", ".");
    git(root, "commit", "-qm", "init");
    const r = await cli(["train.ts", "--to", "lite", "--in-place"], root);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("✔ train.ts (in place)");
    expect(read(root, "train.ts")).toContain("extends LightningLite");
    expect(existsSync(join(root, "train.lite.ts"))).toBe(false);
    // Now dirty, and already migrated: nothing to do, even without --force.
    expect((await cli(["train.ts", "--to", "lite", "--in-place"], root)).code).toBe(0);
  });

  it("refuses uncommitted changes, untracked files and files outside git, unless --force", async () => {
    const root = tree({ "train.ts": TRAIN, "other.ts": TRAIN });
    const outside = await cli(["train.ts", "--to", "lite", "--in-place"], root);
    expect(outside.code).toBe(2);
    expect(outside.stderr).toMatch(/^✖ train\.ts:1:1 {2}--in-place needs the file to be in a git repository/);
    git(root, "init", "-q");
    git(root, "add", "train.ts");
    git(root, "commit", "-qm", "init");
    const edited = `${TRAIN}// local change\n`;
    await import("node:fs").then((fs) => fs.writeFileSync(join(root, "train.ts"), edited));
    const dirty = await cli(["train.ts", "--to", "lite", "--in-place"], root);
    expect([dirty.code, dirty.stderr]).toEqual([2, "✖ train.ts:1:1  the file has uncommitted changes; commit or stash first, or pass --force\n"]);
    expect(read(root, "train.ts")).toBe(edited);
    const untracked = await cli(["other.ts", "--to", "lite", "--in-place"], root);
    expect([untracked.code, untracked.stderr]).toEqual([2, "✖ other.ts:1:1  the file is not committed; commit or stash first, or pass --force\n"]);
    expect(read(root, "other.ts")).toBe(TRAIN);
    const forced = await cli(["train.ts", "--to", "lite", "--in-place", "--force"], root);
    expect(forced.code).toBe(0);
    expect(read(root, "train.ts")).toContain("extends LightningLite");
  });
});
