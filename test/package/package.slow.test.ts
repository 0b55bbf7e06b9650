// The npm package as a new user gets it: `npm pack` (which builds dist/), then the tarball
// installed into a fresh `npm init -y` project outside the repository (CommonJS, npm's default),
// and what that user does first:
//   - the install stays lean (node_modules ≤ 150 MB) and the tarball holds no tests or benches;
//   - a plain training script and a Trainer script, compiled by tsc, run with plain `node` (from
//     CommonJS through require(esm), and as ES modules), the plain one printing exactly the losses
//     the sources print;
//   - their types hold under nodenext (CommonJS and ESM), node16 and bundler resolution with the
//     strictest settings and skipLibCheck off;
//   - `npx lit-migrate` migrates and --verify's a script there.
// Slow (a build, an install, several compiles): part of `npm run test:slow`.
import { spawnSync, type SpawnSyncOptions } from "node:child_process";
import { copyFileSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sourceConditionFlags } from "../../src/cli/source_condition";

const ROOT = resolve(import.meta.dirname, "..", "..");
const CONSUMER_SOURCES = join(import.meta.dirname, "consumer");
const INSTALL_LIMIT_MB = 150;
const manifest = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as { version: string; devDependencies: Record<string, string> };

let work = "";
let project = "";
let tarball = "";
let installedMB = 0;

function run(command: string, args: string[], options: SpawnSyncOptions = {}): { code: number | null; out: string } {
  const r = spawnSync(command, args, { encoding: "utf8", env: { ...process.env, NO_COLOR: "1", npm_config_audit: "false", npm_config_fund: "false" }, ...options });
  return { code: r.status, out: `${r.stdout ?? ""}${r.stderr ?? ""}` };
}

function ok(command: string, args: string[], options: SpawnSyncOptions = {}): string {
  const r = run(command, args, options);
  if (r.code !== 0) throw new Error(`${command} ${args.join(" ")} exited with ${r.code}:\n${r.out}`);
  return r.out;
}

/** Disk use of a tree, as `du` counts it (allocated blocks). */
function diskBytes(path: string): number {
  const st = lstatSync(path);
  if (!st.isDirectory()) return st.blocks * 512;
  return readdirSync(path).reduce((sum, name) => sum + diskBytes(join(path, name)), st.blocks * 512);
}

function tsconfig(dir: string, compilerOptions: Record<string, unknown>): void {
  writeFileSync(join(dir, "tsconfig.json"), JSON.stringify({ compilerOptions, include: ["*.ts", "*.mts"] }, null, 2));
}

/** Strict, and then some: what a careful user turns on, with the library's own declarations checked too. */
const STRICTEST = {
  target: "es2022",
  types: ["node"],
  strict: true,
  exactOptionalPropertyTypes: true,
  noUncheckedIndexedAccess: true,
  noImplicitOverride: true,
  skipLibCheck: false,
};

beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), "lightning-ts-package-"));
  // prepack builds dist/ first, as it does for `npm publish`.
  ok("npm", ["pack", "--pack-destination", work], { cwd: ROOT });
  tarball = join(work, `lightning-ts-${manifest.version}.tgz`);
  project = join(work, "project");
  mkdirSync(project);
  ok("npm", ["init", "-y"], { cwd: project });
  ok("npm", ["install", tarball], { cwd: project });
  installedMB = diskBytes(join(project, "node_modules")) / 2 ** 20;
  // The user's own tools, after measuring what lightning-ts installs.
  ok("npm", ["install", "--save-dev", `typescript@${manifest.devDependencies.typescript}`, `@types/node@${manifest.devDependencies["@types/node"]}`], { cwd: project });
  for (const name of readdirSync(CONSUMER_SOURCES)) copyFileSync(join(CONSUMER_SOURCES, name), join(project, name));
}, 600_000);

afterAll(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

const tsc = () => join(project, "node_modules", "typescript", "bin", "tsc");

describe("the packed package", () => {
  it(`installs into a fresh project in at most ${INSTALL_LIMIT_MB} MB of node_modules`, () => {
    console.log(`node_modules after installing the tarball: ${installedMB.toFixed(1)} MB`);
    expect(installedMB).toBeLessThanOrEqual(INSTALL_LIMIT_MB);
  });

  it("ships dist/, the bundled data, README, LICENSE and docs: no sources, tests, benches or CI", () => {
    const files = ok("tar", ["tzf", tarball]).trim().split("\n").map((f) => f.replace(/^package\//, ""));
    const tops = new Set(files.map((f) => (f.includes("/") ? f.slice(0, f.indexOf("/") + 1) : f)));
    expect([...tops].sort()).toEqual(["LICENSE", "README.md", "dist/", "docs/", "fixtures/", "package.json"]);
    expect(files.filter((f) => f.startsWith("fixtures/") && !f.startsWith("fixtures/data/fashion-mnist/"))).toEqual([]);
    expect(files).toContain("dist/cli/bin.js");
    expect(files).toContain("dist/torch/vendor/tfjs_core_registrations.js");
    expect(files.filter((f) => f.startsWith("dist/") && f.endsWith(".ts") && !f.endsWith(".d.ts"))).toEqual([]);
  });

  it("CommonJS: compiled by tsc (nodenext, strictest, skipLibCheck off) and run with plain node, it trains as the sources do", () => {
    tsconfig(project, { ...STRICTEST, module: "nodenext", outDir: "out" });
    const compiled = run("node", [tsc(), "-p", "."], { cwd: project });
    expect(compiled.out).toBe("");
    expect(compiled.code).toBe(0);
    // require(esm): the package has no top-level await, so CommonJS output can load it.
    expect(readFileSync(join(project, "out", "plain.js"), "utf8")).toContain('require("lightning-ts/torch")');
    const installed = ok("node", [join(project, "out", "plain.js")], { cwd: project });
    const tsx = pathToFileURL(createRequire(import.meta.url).resolve("tsx")).href;
    const fromSources = ok(process.execPath, [...sourceConditionFlags(), "--import", tsx, join(CONSUMER_SOURCES, "plain.ts")], { cwd: ROOT });
    const losses = (out: string) => out.split("\n").filter((l) => l.startsWith("loss "));
    expect(losses(installed)).toHaveLength(8);
    expect(losses(installed)).toEqual(losses(fromSources));
    const trainer = ok("node", [join(project, "out", "trainer.js")], { cwd: project });
    expect(trainer).toContain("trained 8 steps; callback metrics: [ 'train_loss' ]");
    // Where require(esm) is off (Node < 20.19, or this flag): one line that says what to do.
    const old = run("node", ["--no-experimental-require-module", join(project, "out", "plain.js")], { cwd: project });
    expect(old.code).toBe(1);
    expect(old.out).toContain(
      `Error: lightning-ts is an ES module, and this Node.js (${process.version}) cannot require() it: use Node.js 20.19 or later (without --no-experimental-require-module), or import it (import { ... } from "lightning-ts/torch", or await import("lightning-ts/torch"))`,
    );
  });

  it("ES modules: node16, nodenext and bundler resolution type-check with verbatimModuleSyntax too, and the output runs", () => {
    const esm = join(project, "esm");
    mkdirSync(esm, { recursive: true });
    writeFileSync(join(esm, "package.json"), JSON.stringify({ type: "module" }));
    for (const name of readdirSync(CONSUMER_SOURCES)) copyFileSync(join(CONSUMER_SOURCES, name), join(esm, name));
    for (const [module, moduleResolution, types] of [
      ["node16", "node16", ["node"]],
      ["nodenext", "nodenext", ["node"]],
      ["preserve", "bundler", ["node"]],
      // `tsc --init`'s default: no global types at all, so the declarations must not need @types/node.
      ["nodenext", "nodenext", []],
    ] as const) {
      tsconfig(esm, { ...STRICTEST, module, moduleResolution, types, verbatimModuleSyntax: true, noEmit: true });
      const checked = run("node", [tsc(), "-p", "."], { cwd: esm });
      expect(checked.out, `${module}/${moduleResolution}, types ${JSON.stringify(types)}`).toBe("");
    }
    tsconfig(esm, { ...STRICTEST, module: "nodenext", verbatimModuleSyntax: true, outDir: "out" });
    ok("node", [tsc(), "-p", "."], { cwd: esm });
    expect(ok("node", [join(esm, "out", "trainer.js")], { cwd: esm })).toContain("trained 8 steps");
  });

  it("an unknown Trainer option from plain JavaScript is an error naming the closest valid one", () => {
    const r = run("node", ["-e", 'const { Trainer } = require("lightning-ts"); new Trainer({ maxEpoch: 2 });'], { cwd: project });
    expect(r.code).toBe(1);
    expect(r.out).toContain("unknown Trainer option `maxEpoch`; did you mean `maxEpochs`?");
  });

  it("npx lit-migrate migrates a script there and --verify runs both versions to the same losses", () => {
    copyFileSync(join(ROOT, "fixtures", "mlp", "input.ts"), join(project, "train.ts"));
    expect(ok("npx", ["lit-migrate", "--help"], { cwd: project })).toContain("Usage: lit-migrate");
    const r = run("npx", ["lit-migrate", "train.ts", "--to", "lite", "--verify", "--steps", "3", "--json"], { cwd: project });
    const report = JSON.parse(r.out.slice(r.out.indexOf("{"))) as { files: { status: string; verify?: { ok: boolean; compared: number } }[] };
    expect(report.files[0]!.status).toBe("migrated");
    expect(report.files[0]!.verify).toMatchObject({ ok: true, compared: 3 });
    expect(r.code).toBe(0);
    // A CommonJS project: the Lite run is not a top-level await there.
    expect(readFileSync(join(project, "train.lite.ts"), "utf8")).toMatch(/^new Lite\(/m);
  });
});
